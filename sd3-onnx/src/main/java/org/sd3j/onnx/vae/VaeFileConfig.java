package org.sd3j.onnx.vae;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.sd3j.ModelLoadException;

/**
 * What an autoencoder checkpoint declares beyond its tensor shapes: the latent scaling and shift and the GroupNorm
 * groups. Each comes from a diffusers {@code config.json} ({@code "_class_name": "AutoencoderKL"}) in the checkpoint's
 * folder (or beside the file) when it has the key, else from the safetensors file's {@code __metadata__} under the
 * same key (how sd3j's autoencoder trainer records them), else SD3's (1.5305, 0.0609, 32 groups). A {@code null}
 * scaling or shift in a diffusers config means 1 and 0. Stateless.
 */
public final class VaeFileConfig {
    /** The latent scaling factor's key (diffusers' name). */
    public static final String SCALING_FACTOR = "scaling_factor";
    /** The latent shift factor's key. */
    public static final String SHIFT_FACTOR = "shift_factor";
    /** The GroupNorm groups' key. */
    public static final String NORM_GROUPS = "norm_num_groups";

    private VaeFileConfig() {
    }

    /**
     * The geometry inferred from {@code weights}' shapes ({@link VaeConfig#infer}) with the declared scaling, shift
     * and groups.
     *
     * @param checkpoint the file or diffusers {@code vae/} folder the weights come from
     * @param metadata   the file's metadata
     * @throws ModelLoadException if the config cannot be read or a declared value is not a number
     */
    public static VaeConfig read(VaeWeights weights, Path checkpoint, Map<String, String> metadata) {
        String json = diffusersConfig(checkpoint);
        Path where = json == null ? checkpoint : configFile(checkpoint);
        double scaling = number(json, metadata, SCALING_FACTOR, VaeConfig.SD3_SCALING_FACTOR, 1.0, where);
        double shift = number(json, metadata, SHIFT_FACTOR, VaeConfig.SD3_SHIFT_FACTOR, 0.0, where);
        double groups = number(json, metadata, NORM_GROUPS, VaeConfig.SD3_NORM_GROUPS, VaeConfig.SD3_NORM_GROUPS,
                where);
        if (groups < 1 || groups != Math.rint(groups)) {
            throw new ModelLoadException(where, NORM_GROUPS + " must be a positive integer, found " + groups);
        }
        return VaeConfig.infer(weights).withLatentScaling(scaling, shift).withNormGroups((int) groups);
    }

    /**
     * The declared {scaling, shift} alone (e.g. for an ONNX folder's {@code vae_decoder/}, whose {@code config.json}
     * optimum copies from diffusers), SD3's where nothing is declared.
     *
     * @throws ModelLoadException if the config cannot be read or a declared value is not a number
     */
    public static double[] scaling(Path checkpoint, Map<String, String> metadata) {
        String json = diffusersConfig(checkpoint);
        Path where = json == null ? checkpoint : configFile(checkpoint);
        return new double[] {number(json, metadata, SCALING_FACTOR, VaeConfig.SD3_SCALING_FACTOR, 1.0, where),
                number(json, metadata, SHIFT_FACTOR, VaeConfig.SD3_SHIFT_FACTOR, 0.0, where)};
    }

    private static Path configFile(Path checkpoint) {
        Path dir = Files.isDirectory(checkpoint) ? checkpoint : checkpoint.toAbsolutePath().getParent();
        return dir == null ? null : dir.resolve("config.json");
    }

    /** The text of a diffusers AutoencoderKL config beside the weights, or null. */
    private static String diffusersConfig(Path checkpoint) {
        Path config = configFile(checkpoint);
        if (config == null || !Files.isRegularFile(config)) {
            return null;
        }
        String text;
        try {
            text = Files.readString(config, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new ModelLoadException(config, "cannot read the VAE config: " + e, e);
        }
        // Not a diffusers VAE config (e.g. test data or another component's): ignored.
        return text.contains("\"AutoencoderKL\"") ? text : null;
    }

    private static double number(String json, Map<String, String> metadata, String key, double absent,
                                 double nullValue, Path where) {
        String text = null;
        if (json != null) {
            Matcher m = Pattern.compile("\"" + key + "\"\\s*:\\s*([-+0-9.eE]+|null)").matcher(json);
            if (m.find()) {
                text = m.group(1);
            }
        }
        if (text == null) {
            text = metadata.get(key);
        }
        if (text == null) {
            return absent;
        }
        if (text.equals("null")) {
            return nullValue;
        }
        try {
            return Double.parseDouble(text.trim());
        } catch (NumberFormatException e) {
            throw new ModelLoadException(where, key + " must be a number, found '" + text + "'", e);
        }
    }
}
