package org.sd3j.train.data;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import org.sd3j.Sd3Exception;
import org.sd3j.conditioning.ConditioningLayout;
import org.sd3j.internal.AtomicFiles;
import org.sd3j.model.EncoderRole;
import org.sd3j.model.LatentFormat;

/**
 * The cache's {@code manifest.json}: what was cached from which dataset with which model. Written last (atomically)
 * by {@link PrecomputeCache#build}, so a folder with a manifest is a complete cache. Immutable.
 *
 * @param dataset      the dataset folder
 * @param fingerprint  the model's
 * @param tokenCounts  per present encoder role, the token count S of every cached output
 * @param items        the cached items in order
 * @param skipCounts   images skipped by the scan and the precompute pass, by reason
 * @param imageFiles   image files in the dataset folder
 */
record CacheManifest(Path dataset, ModelFingerprint fingerprint, Map<String, Integer> tokenCounts,
                     List<CachedItem> items, Map<SkipReason, Integer> skipCounts, int imageFiles) {
    static final String FILE = "manifest.json";
    static final String FORMAT = "sd3j-precompute-cache";
    static final int VERSION = 1;
    static final String EMPTY_CAPTION_FILE = "empty-caption.safetensors";
    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    CacheManifest {
        tokenCounts = Collections.unmodifiableMap(new LinkedHashMap<>(tokenCounts));
        items = List.copyOf(items);
        skipCounts = Collections.unmodifiableMap(new EnumMap<>(skipCounts));
    }

    /** Item counts per bucket, in the order buckets first appear among the items. */
    Map<BucketSize, Integer> bucketCounts() {
        Map<BucketSize, Integer> counts = new LinkedHashMap<>();
        items.stream().map(CachedItem::bucket).sorted().forEach(b -> counts.merge(b, 1, Integer::sum));
        return Collections.unmodifiableMap(counts);
    }

    void write(Path directory) {
        ObjectNode root = JSON.createObjectNode();
        root.put("format", FORMAT);
        root.put("version", VERSION);
        root.put("dataset", dataset.toString());
        root.set("model", fingerprintJson(fingerprint));
        ObjectNode latents = root.putObject("latents");
        latents.put("space", "denoiser");
        latents.put("mean", CacheFiles.MEAN + ": the VAE mean mapped by LatentFormat.toDenoiserSpace");
        latents.put("logvar", CacheFiles.LOGVAR + ": clamp(VAE logvar, -30, 20) + 2 ln(scaling_factor), the"
                + " log-variance in denoiser space");
        latents.put("storage", "F16 (F32 for a tensor with values beyond the F16 range)");
        ObjectNode tokens = root.putObject("token_counts");
        tokenCounts.forEach(tokens::put);
        root.put("empty_caption", EMPTY_CAPTION_FILE);
        ObjectNode counts = root.putObject("counts");
        counts.put("image_files", imageFiles);
        counts.put("items", items.size());
        ObjectNode skipped = counts.putObject("skipped");
        skipCounts.forEach((r, n) -> skipped.put(r.name().toLowerCase(Locale.ROOT), n));
        ArrayNode buckets = root.putArray("buckets");
        bucketCounts().forEach((b, n) -> buckets.addObject().put("width", b.width()).put("height", b.height())
                .put("items", n));
        ArrayNode list = root.putArray("items");
        for (CachedItem item : items) {
            list.addObject().put("file", item.file()).put("source", item.source()).put("bucket",
                    item.bucket().toString());
        }
        Path file = directory.resolve(FILE);
        try {
            byte[] bytes = JSON.writeValueAsBytes(root);
            AtomicFiles.write(file, tmp -> Files.write(tmp, bytes));
        } catch (IOException e) {
            throw new Sd3Exception(file + ": cannot write the cache manifest: " + e.getMessage(), e);
        }
    }

    static CacheManifest read(Path directory) {
        Path file = directory.resolve(FILE);
        JsonNode root;
        try {
            root = JSON.readTree(Files.readString(file, StandardCharsets.UTF_8));
        } catch (NoSuchFileException e) {
            throw new Sd3Exception("No precompute cache in " + directory + ": " + FILE + " is missing (an unfinished"
                    + " build leaves none); build one with PrecomputeCache.build", e);
        } catch (IOException e) {
            throw new Sd3Exception(file + ": cannot read the cache manifest: " + e.getMessage(), e);
        }
        Reader r = new Reader(file);
        if (!FORMAT.equals(r.text(root, "format"))) {
            throw r.fail("\"format\" must be \"" + FORMAT + "\"");
        }
        int version = r.integer(root, "version");
        if (version != VERSION) {
            throw r.fail("version " + version + " is not supported (this sd3j reads version " + VERSION
                    + "); rebuild the cache");
        }
        Map<String, Integer> tokenCounts = new LinkedHashMap<>();
        r.node(root, "token_counts").properties().forEach(e -> tokenCounts.put(e.getKey(), e.getValue().asInt()));
        JsonNode counts = r.node(root, "counts");
        Map<SkipReason, Integer> skips = new EnumMap<>(SkipReason.class);
        for (SkipReason reason : SkipReason.values()) {
            skips.put(reason, r.node(counts, "skipped").path(reason.name().toLowerCase(Locale.ROOT)).asInt(0));
        }
        List<CachedItem> items = new ArrayList<>();
        for (JsonNode item : r.node(root, "items")) {
            items.add(new CachedItem(items.size(), r.text(item, "file"), r.text(item, "source"),
                    r.bucket(item, "bucket")));
        }
        return new CacheManifest(Path.of(r.text(root, "dataset")), fingerprintFrom(r, r.node(root, "model")),
                tokenCounts, items, skips, r.integer(counts, "image_files"));
    }

    private static ObjectNode fingerprintJson(ModelFingerprint f) {
        ObjectNode m = JSON.createObjectNode();
        m.put("name", f.name());
        ObjectNode lf = m.putObject("latent_format");
        lf.put("channels", f.latentFormat().channels());
        lf.put("downscale", f.latentFormat().downscale());
        lf.put("scaling_factor", f.latentFormat().scalingFactor());
        lf.put("shift_factor", f.latentFormat().shiftFactor());
        ObjectNode layout = m.putObject("layout");
        layout.put("context_dim", f.contextDim());
        ArrayNode slots = layout.putArray("slots");
        for (ConditioningLayout.Slot s : f.slots()) {
            slots.addObject().put("role", s.role().name()).put("kind", s.role().kind().name())
                    .put("tokens", s.tokens()).put("features", s.features()).put("pooled", s.pooled());
        }
        ArrayNode encoders = m.putArray("encoders");
        f.encoders().forEach(encoders::add);
        ObjectNode probes = m.putObject("probes");
        probes.put("prompt", ModelFingerprint.PROBE_PROMPT);
        f.probes().forEach((name, p) -> {
            ObjectNode n = probes.putObject(name);
            ArrayNode shape = n.putArray("shape");
            p.shape().forEach(shape::add);
            n.put("mean", p.mean());
            n.put("rms", p.rms());
            ArrayNode samples = n.putArray("samples");
            p.samples().forEach(samples::add);
        });
        return m;
    }

    private static ModelFingerprint fingerprintFrom(Reader r, JsonNode m) {
        JsonNode lf = r.node(m, "latent_format");
        LatentFormat format = new LatentFormat(r.integer(lf, "channels"), r.integer(lf, "downscale"),
                r.number(lf, "scaling_factor"), r.number(lf, "shift_factor"));
        JsonNode layout = r.node(m, "layout");
        List<ConditioningLayout.Slot> slots = new ArrayList<>();
        for (JsonNode s : r.node(layout, "slots")) {
            slots.add(new ConditioningLayout.Slot(role(r.text(s, "role"), EncoderRole.Kind.valueOf(r.text(s, "kind"))),
                    r.integer(s, "tokens"), r.integer(s, "features"), r.integer(s, "pooled")));
        }
        List<String> encoders = new ArrayList<>();
        r.node(m, "encoders").forEach(e -> encoders.add(e.asText()));
        Map<String, ProbeSignature> probes = new LinkedHashMap<>();
        r.node(m, "probes").properties().forEach(e -> {
            if (e.getValue().isObject()) {
                List<Integer> shape = new ArrayList<>();
                r.node(e.getValue(), "shape").forEach(d -> shape.add(d.asInt()));
                List<Double> samples = new ArrayList<>();
                r.node(e.getValue(), "samples").forEach(d -> samples.add(d.asDouble()));
                probes.put(e.getKey(), new ProbeSignature(shape, r.number(e.getValue(), "mean"),
                        r.number(e.getValue(), "rms"), samples));
            }
        });
        return new ModelFingerprint(r.text(m, "name"), format, r.integer(layout, "context_dim"), slots, encoders,
                probes);
    }

    private static EncoderRole role(String name, EncoderRole.Kind kind) {
        for (EncoderRole builtIn : List.of(EncoderRole.CLIP_L, EncoderRole.CLIP_G, EncoderRole.T5)) {
            if (builtIn.name().equals(name)) {
                return builtIn;
            }
        }
        return EncoderRole.custom(name, kind);
    }

    /** Field access that fails with the manifest file and the missing field. */
    private record Reader(Path file) {
        Sd3Exception fail(String what) {
            return new Sd3Exception(file + ": invalid cache manifest: " + what);
        }

        JsonNode node(JsonNode parent, String field) {
            JsonNode n = parent.get(field);
            if (n == null || n.isNull()) {
                throw fail("missing field \"" + field + "\"");
            }
            return n;
        }

        String text(JsonNode parent, String field) {
            JsonNode n = node(parent, field);
            if (!n.isTextual()) {
                throw fail("\"" + field + "\" must be a string, found " + n);
            }
            return n.asText();
        }

        int integer(JsonNode parent, String field) {
            JsonNode n = node(parent, field);
            if (!n.canConvertToInt() || !n.isIntegralNumber()) {
                throw fail("\"" + field + "\" must be an integer, found " + n);
            }
            return n.asInt();
        }

        double number(JsonNode parent, String field) {
            JsonNode n = node(parent, field);
            if (!n.isNumber()) {
                throw fail("\"" + field + "\" must be a number, found " + n);
            }
            return n.asDouble();
        }

        BucketSize bucket(JsonNode parent, String field) {
            String text = text(parent, field);
            try {
                return BucketSize.parse(text);
            } catch (IllegalArgumentException e) {
                throw fail("\"" + field + "\": " + e.getMessage());
            }
        }
    }
}
