package org.sd3j.examples.cli;

import java.util.List;
import java.util.Locale;
import java.util.Map;

import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.ParameterException;

/**
 * Checks of option values that picocli's type conversion cannot express, as usage errors (exit code 2) in the
 * library's wording with the option's name: {@code --rank must be >= 1, found 0}. Values are checked before any
 * work starts, so a typo never costs a model load or a precompute pass.
 */
final class OptionChecks {
    private final CommandSpec spec;

    OptionChecks(CommandSpec spec) {
        this.spec = spec;
    }

    ParameterException fail(String option, String constraint, Object found) {
        return new ParameterException(spec.commandLine(), option + " must be " + constraint + ", found " + found);
    }

    void atLeast(String option, long value, long min) {
        if (value < min) {
            throw fail(option, ">= " + min, value);
        }
    }

    void positive(String option, double value) {
        if (!(value > 0) || Double.isInfinite(value)) {
            throw fail(option, "finite and > 0", value);
        }
    }

    void probability(String option, double value) {
        if (!(value >= 0 && value <= 1)) {
            throw fail(option, "in [0, 1]", value);
        }
    }

    /** {@code value} looked up case-insensitively among {@code choices}' keys. */
    <T> T choice(String option, String value, Map<String, T> choices) {
        T t = choices.get(value.toLowerCase(Locale.ROOT));
        if (t == null) {
            throw fail(option, "one of " + List.copyOf(choices.keySet()), "'" + value + "'");
        }
        return t;
    }
}
