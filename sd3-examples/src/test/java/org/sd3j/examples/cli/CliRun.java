package org.sd3j.examples.cli;

import java.io.PrintWriter;
import java.io.StringWriter;

import picocli.CommandLine;
import picocli.CommandLine.Help.Ansi;

/** One in-process run of the {@code sd3} command: exit code and captured output, without colours. */
record CliRun(int exitCode, String out, String err) {

    static CliRun of(String... args) {
        return of(Sd3.commandLine(), args);
    }

    static CliRun of(CommandLine cmd, String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        cmd.setOut(new PrintWriter(out, true));
        cmd.setErr(new PrintWriter(err, true));
        cmd.setColorScheme(CommandLine.Help.defaultColorScheme(Ansi.OFF));
        int code = cmd.execute(args);
        return new CliRun(code, out.toString(), err.toString());
    }
}
