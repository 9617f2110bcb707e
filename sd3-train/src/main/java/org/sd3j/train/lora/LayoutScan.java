package org.sd3j.train.lora;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.sd3j.ModelLoadException;
import org.sd3j.onnx.safetensors.TensorSource;

/**
 * Recognises a LoRA file's layout from its tensor names and groups the tensors into {@link StoredAdapter}s;
 * reads no tensor data. Every tensor must belong to one layout and one known MMDiT Linear module, so that no part
 * of a LoRA is silently dropped. Internal.
 */
final class LayoutScan {
    static final String DIFFUSERS_PREFIX = "transformer.";
    private static final Pattern DIFFUSERS = Pattern.compile(
            "transformer\\.(.+)\\.(lora_A\\.weight|lora_B\\.weight|alpha)");
    private static final Pattern KOHYA = Pattern.compile(
            "(lora_unet_.+)\\.(lora_down\\.weight|lora_up\\.weight|alpha)");
    private static final String DIFFUSERS_FORM = "'transformer.<diffusers module>.lora_A.weight' / '.lora_B.weight'";
    private static final String KOHYA_FORM = "'lora_unet_<original module>.lora_down.weight' / '.lora_up.weight'"
            + " / '.alpha'";

    private final LoraLayout layout;
    private final List<StoredAdapter> adapters;

    private LayoutScan(LoraLayout layout, List<StoredAdapter> adapters) {
        this.layout = layout;
        this.adapters = adapters;
    }

    LoraLayout layout() {
        return layout;
    }

    /** The adapters in natural order of their file module names. */
    List<StoredAdapter> adapters() {
        return adapters;
    }

    /** Tensor names of one file module. */
    private static final class Group {
        String original;
        int part;
        String a;
        String b;
        String alpha;
    }

    static LayoutScan of(TensorSource source, Path file) {
        Map<String, Group> diffusers = new TreeMap<>(NaturalOrder.INSTANCE);
        Map<String, Group> kohya = new TreeMap<>(NaturalOrder.INSTANCE);
        List<String> diffusersNames = new ArrayList<>();
        List<String> kohyaNames = new ArrayList<>();
        List<String> unknown = new ArrayList<>();
        for (String name : source.names()) {
            Matcher d = DIFFUSERS.matcher(name);
            Matcher k = KOHYA.matcher(name);
            if (d.matches() && ModuleNames.fromDiffusers(d.group(1)).isPresent()) {
                ModuleNames.Part part = ModuleNames.fromDiffusers(d.group(1)).get();
                add(diffusers, DIFFUSERS_PREFIX + d.group(1), part.original(), part.part(), d.group(2), name);
                diffusersNames.add(name);
            } else if (k.matches() && ModuleNames.fromKohya(k.group(1)).isPresent()) {
                String original = ModuleNames.fromKohya(k.group(1)).get();
                add(kohya, k.group(1), original, ModuleNames.Part.WHOLE, k.group(2).replace("lora_down", "lora_A")
                        .replace("lora_up", "lora_B"), name);
                kohyaNames.add(name);
            } else {
                unknown.add(name);
            }
        }
        int total = source.names().size();
        if (total == 0) {
            throw new ModelLoadException(file, "holds no tensors; expected a LoRA in the diffusers/PEFT layout ("
                    + DIFFUSERS_FORM + ") or the kohya layout (" + KOHYA_FORM + ")");
        }
        if (!unknown.isEmpty()) {
            throw new ModelLoadException(file, "unrecognised LoRA key layout: " + unknown.size() + " of " + total
                    + " tensors fit no known layout, e.g. " + examples(unknown) + "; recognised: "
                    + diffusersNames.size() + " diffusers/PEFT tensors " + DIFFUSERS_FORM
                    + (diffusersNames.isEmpty() ? "" : " such as " + examples(diffusersNames)) + ", "
                    + kohyaNames.size() + " kohya tensors " + KOHYA_FORM
                    + (kohyaNames.isEmpty() ? "" : " such as " + examples(kohyaNames))
                    + ", over the MMDiT's Linear modules");
        }
        if (!diffusersNames.isEmpty() && !kohyaNames.isEmpty()) {
            throw new ModelLoadException(file, "mixes two LoRA layouts: " + diffusersNames.size()
                    + " diffusers/PEFT tensors such as " + examples(diffusersNames) + " and " + kohyaNames.size()
                    + " kohya tensors such as " + examples(kohyaNames) + "; expected one layout");
        }
        boolean isDiffusers = !diffusersNames.isEmpty();
        Map<String, Group> groups = isDiffusers ? diffusers : kohya;
        List<StoredAdapter> out = new ArrayList<>();
        for (Map.Entry<String, Group> e : groups.entrySet()) {
            Group g = e.getValue();
            String aSuffix = isDiffusers ? "lora_A.weight" : "lora_down.weight";
            String bSuffix = isDiffusers ? "lora_B.weight" : "lora_up.weight";
            if (g.a == null || g.b == null) {
                throw new ModelLoadException(file, "LoRA module '" + e.getKey() + "' has "
                        + (g.a == null ? "'" + bSuffix + "' but no '" + aSuffix + "'"
                                : "'" + aSuffix + "' but no '" + bSuffix + "'"));
            }
            out.add(new StoredAdapter(e.getKey(), g.a, g.b, g.alpha, g.original, g.part));
        }
        return new LayoutScan(isDiffusers ? LoraLayout.DIFFUSERS : LoraLayout.KOHYA, List.copyOf(out));
    }

    private static void add(Map<String, Group> groups, String module, String original, int part, String kind,
                            String name) {
        Group g = groups.computeIfAbsent(module, m -> new Group());
        g.original = original;
        g.part = part;
        switch (kind) {
            case "lora_A.weight" -> g.a = name;
            case "lora_B.weight" -> g.b = name;
            default -> g.alpha = name;
        }
    }

    private static String examples(List<String> names) {
        List<String> shown = names.subList(0, Math.min(3, names.size()));
        StringBuilder sb = new StringBuilder();
        for (String s : shown) {
            sb.append(sb.length() == 0 ? "" : ", ").append('\'').append(s).append('\'');
        }
        return sb.toString();
    }
}
