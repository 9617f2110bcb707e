package org.sd3j.examples.cli;

import java.io.PrintWriter;
import java.util.Objects;

import org.sd3j.Sd3Exception;

import picocli.CommandLine;
import picocli.CommandLine.IExecutionExceptionHandler;
import picocli.CommandLine.IParameterExceptionHandler;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.ParseResult;
import picocli.CommandLine.UnmatchedArgumentException;

/**
 * Turns failures into {@code sd3: error: <message>} on the command's error stream and an exit code.
 * Usage errors add the command's synopsis (or "did you mean" suggestions) and a pointer to its {@code --help},
 * and exit with 2. Errors the library
 * raises on purpose ({@link Sd3Exception}, {@link IllegalArgumentException}) exit with 1 and show their stack
 * trace only with {@code --verbose}; anything else is a bug, so its stack trace is always printed.
 */
final class ErrorReporter implements IParameterExceptionHandler, IExecutionExceptionHandler {

    @Override
    public int handleParseException(ParameterException ex, String[] args) {
        CommandLine cmd = ex.getCommandLine();
        PrintWriter err = cmd.getErr();
        err.println(prefix(cmd) + ex.getMessage());
        if (!UnmatchedArgumentException.printSuggestions(ex, err)) {
            err.print(cmd.getHelp().fullSynopsis());
        }
        err.println("Run '" + cmd.getCommandSpec().qualifiedName() + " --help' for more information.");
        err.flush();
        return cmd.getCommandSpec().exitCodeOnInvalidInput();
    }

    @Override
    public int handleExecutionException(Exception ex, CommandLine cmd, ParseResult parsed) {
        PrintWriter err = cmd.getErr();
        boolean expected = ex instanceof Sd3Exception || ex instanceof IllegalArgumentException;
        err.println(prefix(cmd) + (expected ? Objects.toString(ex.getMessage(), ex.toString()) : ex.toString()));
        if (!expected || Sd3Command.verbose(parsed)) {
            ex.printStackTrace(err);
        }
        err.flush();
        return cmd.getCommandSpec().exitCodeOnExecutionException();
    }

    private static String prefix(CommandLine cmd) {
        return cmd.getCommandSpec().root().name() + ": error: ";
    }
}
