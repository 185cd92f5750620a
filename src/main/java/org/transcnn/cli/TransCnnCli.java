package org.transcnn.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

import java.io.PrintWriter;

/**
 * The {@code transcnn} command line: {@code summary} and {@code infer}. Every error ends the process with a non-zero
 * exit code and one line on stderr.
 */
@Command(name = "transcnn", mixinStandardHelpOptions = true, version = "transcnn 0.1.0",
        description = "TransCNN (Transformer in Convolutional Neural Networks) on DeepLearning4J.",
        subcommands = {SummaryCommand.class, InferCommand.class, TrainCommand.class, EvalCommand.class,
                BenchmarkCommand.class})
public final class TransCnnCli implements Runnable {

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        throw new CommandLine.ParameterException(spec.commandLine(), "a command is required: summary, infer, train, eval or benchmark");
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
        cli.setExecutionExceptionHandler((e, c, p) -> {
            String message = e.getMessage() == null ? e.toString() : e.getMessage();
            err.println("transcnn: " + message.replace('\n', ' '));
            err.flush();
            return 1;
        });
        int code = cli.execute(args);
        out.flush();
        err.flush();
        return code;
    }

    private static String commandName(CommandLine c) {
        return c.getParent() == null ? "" : c.getCommandName() + " ";
    }

    public static void main(String[] args) {
        System.exit(run(args, new PrintWriter(System.out, true), new PrintWriter(System.err, true)));
    }
}
