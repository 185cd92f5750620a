package org.transcnn.cli;

import java.io.PrintWriter;
import java.io.StringWriter;

/** Test helper: runs the command line in-process and captures its output. */
public final class TransCnnCliAccess {

    public record Result(int code, String out, String err) {
    }

    private TransCnnCliAccess() {
    }

    public static Result run(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int code = TransCnnCli.run(args, new PrintWriter(out), new PrintWriter(err));
        return new Result(code, out.toString(), err.toString());
    }
}
