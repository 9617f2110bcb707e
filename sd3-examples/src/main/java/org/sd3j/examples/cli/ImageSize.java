package org.sd3j.examples.cli;

import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.TypeConversionException;

/**
 * An image size given as {@code WIDTHxHEIGHT} ({@code 1024x768}) or a single number for a square. Only the form is
 * checked here; the library checks the values (positive multiples of 16) with its own message.
 */
record ImageSize(int width, int height) {
    private static final Pattern FORM = Pattern.compile("(\\d{1,6})(?:[xX](\\d{1,6}))?");

    /** Parses {@code 1024x768}, {@code 1024X768} or {@code 512}. */
    static ImageSize parse(String text) {
        Matcher m = FORM.matcher(text.trim());
        if (!m.matches()) {
            throw new IllegalArgumentException("size must be WIDTHxHEIGHT (e.g. 1024x768) or one number for a "
                    + "square, found '" + text + "'");
        }
        int w = Integer.parseInt(m.group(1));
        int h = m.group(2) == null ? w : Integer.parseInt(m.group(2));
        return new ImageSize(w, h);
    }

    @Override
    public String toString() {
        return String.format(Locale.ROOT, "%dx%d", width, height);
    }

    /** picocli's converter for {@code --size}: a malformed size is a usage error. */
    static final class Converter implements ITypeConverter<ImageSize> {
        @Override
        public ImageSize convert(String value) {
            try {
                return parse(value);
            } catch (IllegalArgumentException e) {
                throw new TypeConversionException(e.getMessage());
            }
        }
    }
}
