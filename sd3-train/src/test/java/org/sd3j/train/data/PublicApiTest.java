package org.sd3j.train.data;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.reflect.Constructor;
import java.lang.reflect.Executable;
import java.lang.reflect.Field;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.lang.reflect.Type;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;

/** The package's public API mentions no ONNX Runtime or DJL type (DESIGN: ORT types stay inside sd3-onnx). */
class PublicApiTest {

    @Test
    void publicSignaturesHaveNoBackendTypes() throws Exception {
        Path classes = Path.of(PrecomputeCache.class.getProtectionDomain().getCodeSource().getLocation().toURI())
                .resolve("org/sd3j/train/data");
        List<String> offenders = new ArrayList<>();
        int publicTypes = 0;
        try (Stream<Path> files = Files.list(classes)) {
            for (Path file : files.filter(f -> f.toString().endsWith(".class")).toList()) {
                String name = file.getFileName().toString().replace(".class", "");
                Class<?> c = Class.forName("org.sd3j.train.data." + name);
                if (!Modifier.isPublic(c.getModifiers())) {
                    continue;
                }
                publicTypes++;
                List<Type> types = new ArrayList<>();
                for (Method m : c.getDeclaredMethods()) {
                    if (Modifier.isPublic(m.getModifiers())) {
                        types.add(m.getGenericReturnType());
                        addParameters(m, types);
                    }
                }
                for (Constructor<?> k : c.getDeclaredConstructors()) {
                    if (Modifier.isPublic(k.getModifiers())) {
                        addParameters(k, types);
                    }
                }
                for (Field f : c.getDeclaredFields()) {
                    if (Modifier.isPublic(f.getModifiers())) {
                        types.add(f.getGenericType());
                    }
                }
                for (Type t : types) {
                    String text = t.getTypeName();
                    if (text.contains("ai.onnxruntime") || text.contains("ai.djl")) {
                        offenders.add(c.getName() + " uses " + text);
                    }
                }
            }
        }
        assertThat(publicTypes).isGreaterThan(15);
        assertThat(offenders).isEmpty();
    }

    private static void addParameters(Executable e, List<Type> types) {
        types.addAll(List.of(e.getGenericParameterTypes()));
    }
}
