package org.sd3j.onnx.lora;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.EnumMap;
import java.util.EnumSet;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.sd3j.ModelLoadException;
import org.sd3j.onnx.safetensors.TensorSource;

/**
 * Recognises a LoRA file's key layout ({@link LoraKeyStyle}) from its tensor names and groups the tensors into
 * {@link LoraModule}s; reads no tensor data. Every tensor must belong to one layout and to a known Linear module of
 * the MMDiT or of a CLIP text encoder, so that no part of a LoRA is silently dropped: anything else fails with a
 * message that lists what was recognised. Immutable.
 */
public final class LoraScan {
    private static final Pattern TENSOR = Pattern.compile(
            "(.+)\\.(lora_A\\.weight|lora_B\\.weight|lora_down\\.weight|lora_up\\.weight|alpha)");
    private static final String SCOPE = "over the Linear modules of the MMDiT and the CLIP text encoders";

    private final LoraKeyStyle style;
    private final List<LoraModule> modules;

    private LoraScan(LoraKeyStyle style, List<LoraModule> modules) {
        this.style = style;
        this.modules = modules;
    }

    /** The file's key layout. */
    public LoraKeyStyle style() {
        return style;
    }

    /** Every adapter, in natural order of the file's module names. */
    public List<LoraModule> modules() {
        return modules;
    }

    /** The adapters of one model part, in natural order of the file's module names. */
    public List<LoraModule> modules(LoraComponent component) {
        return modules.stream().filter(m -> m.component() == component).toList();
    }

    /** The model parts the file adapts. */
    public Set<LoraComponent> components() {
        Set<LoraComponent> out = EnumSet.noneOf(LoraComponent.class);
        modules.forEach(m -> out.add(m.component()));
        return Collections.unmodifiableSet(out);
    }

    /** A recognised tensor: its module and the layouts its name fits. */
    private record Recognised(String fileModule, String kind, LoraComponent component, String module, int part,
                              Set<LoraKeyStyle> styles, LoraKeyStyle primary) {
    }

    /** Tensor names of one file module. */
    private static final class Group {
        Recognised first;
        String a;
        String b;
        String aKind;
        String bKind;
        String alpha;
    }

    /**
     * Scans {@code source}'s tensor names.
     *
     * @param file the LoRA file, for messages
     * @throws ModelLoadException naming the file for no tensors, tensors of no known layout (listing what was
     *                            recognised), mixed layouts, an A without its B (or the reverse), or one module
     *                            adapted twice
     */
    public static LoraScan of(TensorSource source, Path file) {
        Map<LoraKeyStyle, List<String>> byStyle = new EnumMap<>(LoraKeyStyle.class);
        for (LoraKeyStyle s : LoraKeyStyle.values()) {
            byStyle.put(s, new ArrayList<>());
        }
        List<String> unknown = new ArrayList<>();
        Map<String, Group> groups = new TreeMap<>(NaturalOrder.INSTANCE);
        Set<LoraKeyStyle> common = EnumSet.allOf(LoraKeyStyle.class);
        for (String name : source.names()) {
            Optional<Recognised> r = recognise(name);
            if (r.isEmpty()) {
                unknown.add(name);
                continue;
            }
            Recognised rec = r.get();
            byStyle.get(rec.primary()).add(name);
            common.retainAll(rec.styles());
            Group g = groups.computeIfAbsent(rec.fileModule(), m -> new Group());
            g.first = g.first == null ? rec : g.first;
            switch (rec.kind()) {
                case "lora_A.weight", "lora_down.weight" -> {
                    g.a = name;
                    g.aKind = rec.kind();
                }
                case "lora_B.weight", "lora_up.weight" -> {
                    g.b = name;
                    g.bKind = rec.kind();
                }
                default -> g.alpha = name;
            }
        }
        if (source.names().isEmpty()) {
            throw new ModelLoadException(file, "holds no tensors; expected a LoRA in the diffusers/PEFT, kohya,"
                    + " ComfyUI or original-key layout (" + LoraKeyStyle.DIFFUSERS.form() + ", "
                    + LoraKeyStyle.KOHYA.form() + ", ...)");
        }
        if (!unknown.isEmpty()) {
            StringBuilder recognised = new StringBuilder();
            for (LoraKeyStyle s : LoraKeyStyle.values()) {
                List<String> names = byStyle.get(s);
                recognised.append(recognised.length() == 0 ? "" : ", ").append(names.size()).append(' ')
                        .append(s.label()).append(" tensors ").append(s.form())
                        .append(names.isEmpty() ? "" : " such as " + examples(names));
            }
            throw new ModelLoadException(file, "unrecognised LoRA key layout: " + unknown.size() + " of "
                    + source.names().size() + " tensors fit no known layout, e.g. " + examples(unknown)
                    + "; recognised: " + recognised + ", " + SCOPE);
        }
        if (common.isEmpty()) {
            List<String> parts = new ArrayList<>();
            for (LoraKeyStyle s : LoraKeyStyle.values()) {
                List<String> names = byStyle.get(s);
                if (!names.isEmpty()) {
                    parts.add(names.size() + " " + s.label() + " tensors such as " + examples(names));
                }
            }
            throw new ModelLoadException(file, "mixes " + (parts.size() == 2 ? "two" : parts.size()) + " LoRA"
                    + " layouts: " + String.join(" and ", parts) + "; expected one layout");
        }
        LoraKeyStyle style = common.contains(LoraKeyStyle.ORIGINAL) ? LoraKeyStyle.ORIGINAL
                : common.iterator().next();
        List<LoraModule> out = new ArrayList<>();
        Map<String, String> targets = new HashMap<>();
        for (Map.Entry<String, Group> e : groups.entrySet()) {
            Group g = e.getValue();
            if (g.a == null || g.b == null) {
                String aKind = g.aKind != null ? g.aKind : g.bKind != null && g.bKind.startsWith("lora_up")
                        ? "lora_down.weight" : "lora_A.weight";
                String bKind = g.bKind != null ? g.bKind : aKind.startsWith("lora_down") ? "lora_up.weight"
                        : "lora_B.weight";
                throw new ModelLoadException(file, "LoRA module '" + e.getKey() + "' has "
                        + (g.a == null ? "'" + bKind + "' but no '" + aKind + "'"
                                : "'" + aKind + "' but no '" + bKind + "'"));
            }
            Recognised r = g.first;
            String target = r.component() + " " + r.module() + "#" + r.part();
            String before = targets.putIfAbsent(target, e.getKey());
            if (before != null) {
                throw new ModelLoadException(file, "LoRA modules '" + before + "' and '" + e.getKey()
                        + "' adapt the same weight " + r.module() + "; expected one adapter per weight");
            }
            out.add(new LoraModule(r.component(), e.getKey(), g.a, g.b, g.alpha, r.module(), r.part()));
        }
        return new LoraScan(style, List.copyOf(out));
    }

    private static Optional<Recognised> recognise(String name) {
        Matcher t = TENSOR.matcher(name);
        if (!t.matches()) {
            return Optional.empty();
        }
        String m = t.group(1);
        String kind = t.group(2);
        int whole = MmditModules.Part.WHOLE;
        for (String prefix : List.of("transformer.", "base_model.model.")) {
            if (m.startsWith(prefix)) {
                Optional<MmditModules.Part> p = MmditModules.fromDiffusers(m.substring(prefix.length()));
                if (p.isPresent()) {
                    return Optional.of(mmdit(m, kind, p.get().original(), p.get().part(), LoraKeyStyle.DIFFUSERS));
                }
            }
        }
        Optional<String> kohya = MmditModules.fromKohya(m);
        if (kohya.isPresent()) {
            return Optional.of(mmdit(m, kind, kohya.get(), whole, LoraKeyStyle.KOHYA));
        }
        if (m.startsWith("diffusion_model.") && MmditModules.isLinear(m.substring("diffusion_model.".length()))) {
            return Optional.of(mmdit(m, kind, m.substring("diffusion_model.".length()), whole, LoraKeyStyle.COMFYUI));
        }
        String bare = m.startsWith("model.diffusion_model.") ? m.substring("model.diffusion_model.".length()) : m;
        if (MmditModules.isLinear(bare)) {
            return Optional.of(mmdit(m, kind, bare, whole, LoraKeyStyle.ORIGINAL));
        }
        for (LoraKeyStyle s : List.of(LoraKeyStyle.KOHYA, LoraKeyStyle.DIFFUSERS, LoraKeyStyle.ORIGINAL)) {
            Optional<ClipModules.Module> clip = ClipModules.parse(m, s);
            if (clip.isPresent()) {
                Set<LoraKeyStyle> styles = s == LoraKeyStyle.ORIGINAL
                        ? EnumSet.of(LoraKeyStyle.ORIGINAL, LoraKeyStyle.COMFYUI) : EnumSet.of(s);
                return Optional.of(new Recognised(m, kind, clip.get().component(), clip.get().module(), whole,
                        styles, s));
            }
        }
        return Optional.empty();
    }

    private static Recognised mmdit(String fileModule, String kind, String original, int part, LoraKeyStyle style) {
        return new Recognised(fileModule, kind, LoraComponent.MMDIT, original, part, EnumSet.of(style), style);
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
