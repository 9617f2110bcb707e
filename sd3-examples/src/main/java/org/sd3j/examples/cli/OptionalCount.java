package org.sd3j.examples.cli;

import java.util.Stack;

import picocli.CommandLine.IParameterConsumer;
import picocli.CommandLine.Model.ArgSpec;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.OptionSpec;

/**
 * The optional number of {@code --cuda [ID]} and {@code --benchmark [RUNS]}: taken only when the next argument is
 * a number, so that {@code sd3 generate --cuda "a red fox"} reads the prompt as the prompt (picocli's arity 0..1
 * would try to read it as the number and fail). Without a number, the option's {@code fallbackValue} applies.
 */
final class OptionalCount implements IParameterConsumer {
    @Override
    public void consumeParameters(Stack<String> args, ArgSpec argSpec, CommandSpec commandSpec) {
        String value = !args.isEmpty() && args.peek().matches("\\d{1,9}") ? args.pop()
                : ((OptionSpec) argSpec).fallbackValue();
        argSpec.setValue(Integer.valueOf(value));
    }
}
