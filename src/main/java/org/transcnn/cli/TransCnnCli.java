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

    /** One line for any failure: the message, prefixed by the exception type unless it is a plain bad argument. */
    private static int fail(PrintWriter err, Throwable e) {
        String message = e.getMessage() == null ? "" : e.getMessage();
        boolean plain = e instanceof IllegalArgumentException || e instanceof CheckpointException
                || e instanceof org.transcnn.io.ModelFileException || e instanceof java.nio.file.FileSystemException
                || (e.getClass() == java.io.IOException.class && !message.isEmpty());
        String line = plain ? message : e.getClass().getSimpleName() + (message.isEmpty() ? "" : ": " + message);
        err.println("transcnn: " + line.replaceAll("\\s+", " ").trim());
        err.flush();
        return 1;
    }

    private static String commandName(CommandLine c) {
        return c.getParent() == null ? "" : c.getCommandName() + " ";
    }

    public static void main(String[] args) {
        // ND4J logs its start-up at INFO; a command's own output and its one error line should stand alone
        if (System.getProperty("org.slf4j.simpleLogger.defaultLogLevel") == null) {
            System.setProperty("org.slf4j.simpleLogger.defaultLogLevel", "warn");
        }
        System.exit(run(args, new PrintWriter(System.out, true), new PrintWriter(System.err, true)));
    }
}
