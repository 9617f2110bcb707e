package org.sd3j.examples.cli;

import java.util.Locale;

import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.TypeConversionException;

/**
 * An option value naming an enum constant as the command line spells it: lowercase, {@code -} for {@code _}
 * ({@code no-t5} for {@code NO_T5}), any case accepted. A wrong value lists the names.
 */
abstract class EnumOption<E extends Enum<E>> implements ITypeConverter<E> {
    private final Class<E> type;

    EnumOption(Class<E> type) {
        this.type = type;
    }

    /** The constant's name on the command line. */
    static String name(Enum<?> value) {
        return value.name().toLowerCase(Locale.ROOT).replace('_', '-');
    }

    @Override
    public E convert(String value) {
        E[] all = type.getEnumConstants();
        for (E e : all) {
            if (name(e).equalsIgnoreCase(value.strip())) {
                return e;
            }
        }
        StringBuilder names = new StringBuilder();
        for (int i = 0; i < all.length; i++) {
            names.append(i == 0 ? "" : i == all.length - 1 ? " or " : ", ").append(name(all[i]));
        }
        throw new TypeConversionException("expected " + names + ", found " + value);
    }
}
