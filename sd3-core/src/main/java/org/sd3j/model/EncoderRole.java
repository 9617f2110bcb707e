package org.sd3j.model;

import java.util.Locale;
import java.util.Objects;

import org.sd3j.internal.Checks;

/**
 * The slot a {@link TextEncoder} fills in SD3's conditioning (SPEC §3). Two kinds exist:
 * <ul>
 *   <li>{@link Kind#CLIP}: per-token features are concatenated along the feature axis with the other CLIP
 *       encoders' (CLIP-L then CLIP-G), and the encoder contributes a pooled vector;</li>
 *   <li>{@link Kind#SEQUENCE}: per-token features are appended along the sequence axis after the CLIP block
 *       (T5), no pooled vector.</li>
 * </ul>
 * Roles are compared by name; {@link #custom(String, Kind)} adds a slot of either kind for encoders beyond
 * SD3's three. Immutable and thread-safe.
 */
public final class EncoderRole {
    /** How an encoder's output joins the conditioning. */
    public enum Kind {
        /** Concatenated along features in the 77-token CLIP block; has a pooled vector. */
        CLIP,
        /** Appended along the sequence after the CLIP block; no pooled vector. */
        SEQUENCE
    }

    /** OpenAI CLIP ViT-L/14 text encoder (768 features, penultimate layer; pooled 768). */
    public static final EncoderRole CLIP_L = new EncoderRole("clip_l", Kind.CLIP);
    /** OpenCLIP ViT-bigG/14 text encoder (1280 features, penultimate layer; projected pooled 1280). */
    public static final EncoderRole CLIP_G = new EncoderRole("clip_g", Kind.CLIP);
    /** T5-XXL encoder (4096 features). */
    public static final EncoderRole T5 = new EncoderRole("t5xxl", Kind.SEQUENCE);

    private final String name;
    private final Kind kind;

    private EncoderRole(String name, Kind kind) {
        this.name = name;
        this.kind = kind;
    }

    /** A role outside SD3's three; {@code name} is lower-case letters, digits, '_' or '-'. */
    public static EncoderRole custom(String name, Kind kind) {
        Checks.notNull(name, "name");
        Checks.notNull(kind, "kind");
        if (!name.matches("[a-z0-9_\\-]+")) {
            throw Checks.fail("name", "lower-case letters, digits, '_' or '-'", "'" + name + "'");
        }
        for (EncoderRole known : new EncoderRole[] {CLIP_L, CLIP_G, T5}) {
            if (known.name.equals(name)) {
                throw Checks.fail("name", "different from the built-in role '" + name + "'", "'" + name + "'");
            }
        }
        return new EncoderRole(name, kind);
    }

    /** Looks up a built-in role by name ({@code clip_l}, {@code clip_g}, {@code t5xxl}; also {@code t5}). */
    public static EncoderRole builtIn(String name) {
        Checks.notNull(name, "name");
        switch (name.toLowerCase(Locale.ROOT)) {
            case "clip_l":
                return CLIP_L;
            case "clip_g":
                return CLIP_G;
            case "t5xxl":
            case "t5":
                return T5;
            default:
                throw Checks.fail("name", "one of [clip_l, clip_g, t5xxl]", "'" + name + "'");
        }
    }

    public String name() {
        return name;
    }

    public Kind kind() {
        return kind;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof EncoderRole && ((EncoderRole) o).name.equals(name);
    }

    @Override
    public int hashCode() {
        return Objects.hash(name);
    }

    @Override
    public String toString() {
        return name;
    }
}
