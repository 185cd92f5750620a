package org.transcnn.cli;

import org.transcnn.weights.CheckpointException;
import picocli.CommandLine;
import picocli.CommandLine.Command;

import java.io.PrintWriter;

/**
 * The {@code transcnn} command line: {@code summary}, {@code infer}, {@code predict}, {@code train},
 * {@code eval} and {@code benchmark}. Every error ends the process with a non-zero exit code and one line on stderr.
 */
@Command(name = "transcnn", mixinStandardHelpOptions = true, version = "transcnn 0.1.0",
        description = "TransCNN (Transformer in Convolutional Neural Networks) on DeepLearning4J.",
        subcommands = {SummaryCommand.class, InferCommand.class, PredictCommand.class, TrainCommand.class,
                EvalCommand.class, BenchmarkCommand.class})
public final class TransCnnCli implements Runnable {

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        throw new CommandLine.ParameterException(spec.commandLine(),
                "a command is required: summary, infer, predict, train, eval or benchmark");
    }

    /** Runs the command line and returns its exit code. */
    public static int run(String[] args, PrintWriter out, PrintWriter err) {
        CommandLine cli = new CommandLine(new TransCnnCli());
        cli.setOut(out);
        cli.setErr(err);
        cli.setParameterExceptionHandler((e, a) -> {
            err.println("transcnn: " + e.getMessage() + " (see 'transcnn " + commandName(e.getCommandLine())
                    + "--help')");
            err.flush();
            return 2;
        });
        cli.setExecutionExceptionHandler((e, c, p) -> fail(err, e));
        int code;
        try {
            code = cli.execute(args);
        } catch (Throwable t) {
            code = fail(err, t);
        }
        out.flush();
        err.flush();
        return code;
    }

    /**
     * One line for any failure, without Java exception class names: the message of a bad argument, a refused file
     * or any I/O error (a file-system error as "FILE: reason"); out of memory with the way to give Java more; anything
     * else is a bug in this program, reported as an internal error with its type so that it can be traced.
     */
    static int fail(PrintWriter err, Throwable e) {
        Throwable cause = e instanceof java.io.UncheckedIOException && e.getCause() != null ? e.getCause() : e;
        String message = cause.getMessage() == null ? "" : cause.getMessage();
        String line;
        if (cause instanceof java.nio.file.FileSystemException f) {
            line = fileSystemMessage(f);
        } else if (cause instanceof java.io.IOException || cause instanceof IllegalArgumentException
                || cause instanceof CheckpointException) {
            line = message.isEmpty() ? "input/output error" : message;
        } else if (cause instanceof OutOfMemoryError) {
            line = "out of memory (" + message + "); give Java more heap, e.g. TRANSCNN_JAVA_OPTS=\"-Xms2g -Xmx2g\"";
        } else {
            line = "internal error (" + cause.getClass().getSimpleName() + (message.isEmpty() ? "" : ": " + message)
                    + "); please report it";
        }
        err.println("transcnn: " + line.replaceAll("\\s+", " ").trim());
        err.flush();
        return 1;
    }

    /** "FILE: reason" for a file-system error, naming the reason where the exception's type is all that tells it. */
    static String fileSystemMessage(java.nio.file.FileSystemException f) {
        if (f.getFile() == null) {
            return f.getMessage() == null ? "input/output error" : f.getMessage();
        }
        String reason = f.getReason();
        if (reason == null) {
            reason = f instanceof java.nio.file.NoSuchFileException ? "no such file or directory"
                    : f instanceof java.nio.file.AccessDeniedException ? "permission denied"
                    : f instanceof java.nio.file.FileAlreadyExistsException ? "already exists"
                    : f instanceof java.nio.file.NotDirectoryException ? "not a directory"
                    : f instanceof java.nio.file.DirectoryNotEmptyException ? "directory not empty"
                    : "input/output error";
        }
        return f.getFile() + (f.getOtherFile() != null ? " -> " + f.getOtherFile() : "") + ": " + reason;
    }

    private static String commandName(CommandLine c) {
        return c.getParent() == null ? "" : c.getCommandName() + " ";
    }

    public static void main(String[] args) {
        // ND4J logs its start-up at INFO; a command's own output and its one error line should stand alone
        if (System.getProperty("org.slf4j.simpleLogger.defaultLogLevel") == null) {
            System.setProperty("org.slf4j.simpleLogger.defaultLogLevel", "warn");
        }
        TrainCommand.handleInterrupts = true;
        System.exit(run(args, new PrintWriter(System.out, true), new PrintWriter(System.err, true)));
    }
}
