package org.sd3j;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.lang.reflect.Constructor;
import java.lang.reflect.Field;
import java.lang.reflect.GenericArrayType;
import java.lang.reflect.Member;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.lang.reflect.ParameterizedType;
import java.lang.reflect.RecordComponent;
import java.lang.reflect.Type;
import java.lang.reflect.TypeVariable;
import java.lang.reflect.WildcardType;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Stream;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * sd3-core's contract: no backend types. Scans the compiled main classes (the directory or jar Sd3Pipeline was
 * loaded from) for references to ONNX Runtime or DJL, and checks that the public API mentions only
 * {@code java.*}, {@code javax.*}, {@code org.slf4j.*} and {@code org.sd3j.*} types.
 */
class ArchitectureTest {
    private static final List<String> BANNED = List.of("ai/onnxruntime", "ai/djl");
    private static final List<String> ALLOWED_PREFIXES = List.of("java.", "javax.", "org.slf4j.", "org.sd3j.");

    private static Path classesDir;
    private static List<Path> classFiles;

    @BeforeAll
    static void findTheMainClasses() throws Exception {
        Path location = Path.of(Sd3Pipeline.class.getProtectionDomain().getCodeSource().getLocation().toURI());
        assertThat(location).as("sd3-core's main classes should be a directory under test").isDirectory();
        classesDir = location;
        try (Stream<Path> files = Files.walk(classesDir)) {
            classFiles = files.filter(p -> p.toString().endsWith(".class")).sorted().toList();
        }
    }

    @Test
    void theScanSeesTheMainClassesOnly() {
        assertThat(classFiles).hasSizeGreaterThan(40)
                .anySatisfy(p -> assertThat(p).endsWith(Path.of("org/sd3j/Sd3Pipeline.class")))
                .noneSatisfy(p -> assertThat(p.getFileName().toString()).endsWith("Test.class"));
    }

    @Test
    void noClassFileReferencesOnnxRuntimeOrDjl() throws IOException {
        List<String> offenders = new ArrayList<>();
        for (Path file : classFiles) {
            String constantPool = new String(Files.readAllBytes(file), StandardCharsets.ISO_8859_1);
            for (String banned : BANNED) {
                if (constantPool.contains(banned)) {
                    offenders.add(classesDir.relativize(file) + " references " + banned);
                }
            }
        }
        assertThat(offenders).isEmpty();
    }

    @Test
    void theByteScanWouldSeeABannedReference() {
        // Guards the scan itself: a class name is stored as its internal form in the constant pool.
        byte[] bytes = "Lai/onnxruntime/OrtSession;".getBytes(StandardCharsets.UTF_8);

        assertThat(new String(bytes, StandardCharsets.ISO_8859_1)).contains(BANNED.get(0));
    }

    @Test
    void thePublicApiUsesOnlyJdkSlf4jAndSd3jTypes() throws Exception {
        Set<String> offenders = new TreeSet<>();
        int checked = 0;
        for (Class<?> type : publicClasses()) {
            checked++;
            for (Type t : publicSignatureTypes(type)) {
                for (Class<?> used : rawClasses(t, new HashSet<>())) {
                    if (!allowed(used)) {
                        offenders.add(type.getName() + " uses " + used.getName());
                    }
                }
            }
        }
        assertThat(checked).isGreaterThan(30);
        assertThat(offenders).isEmpty();
    }

    @Test
    void theTypeCheckWouldSeeAForeignType() {
        assertThat(allowed(org.mockito.Mockito.class)).isFalse();
        assertThat(allowed(java.util.List.class)).isTrue();
        assertThat(allowed(int[].class)).isTrue();
    }

    private static boolean allowed(Class<?> c) {
        while (c.isArray()) {
            c = c.getComponentType();
        }
        if (c.isPrimitive()) {
            return true;
        }
        String name = c.getName();
        return ALLOWED_PREFIXES.stream().anyMatch(name::startsWith);
    }

    /** Public top-level and public nested classes (of public classes) in the main classes directory. */
    private static List<Class<?>> publicClasses() throws ClassNotFoundException {
        List<Class<?>> out = new ArrayList<>();
        ClassLoader loader = Sd3Pipeline.class.getClassLoader();
        for (Path file : classFiles) {
            String relative = classesDir.relativize(file).toString();
            if (relative.equals("module-info.class") || relative.endsWith("package-info.class")) {
                continue;
            }
            String name = relative.substring(0, relative.length() - ".class".length())
                    .replace(file.getFileSystem().getSeparator(), ".");
            Class<?> c = Class.forName(name, false, loader);
            if (isExported(c)) {
                out.add(c);
            }
        }
        return out;
    }

    private static boolean isExported(Class<?> c) {
        for (Class<?> k = c; k != null; k = k.getEnclosingClass()) {
            if (!Modifier.isPublic(k.getModifiers()) || k.isAnonymousClass() || k.isLocalClass()) {
                return false;
            }
        }
        return true;
    }

    /** Every type in the signatures of {@code c}'s public and protected members, supertypes and bounds. */
    private static List<Type> publicSignatureTypes(Class<?> c) {
        List<Type> types = new ArrayList<>();
        if (c.getGenericSuperclass() != null) {
            types.add(c.getGenericSuperclass());
        }
        types.addAll(List.of(c.getGenericInterfaces()));
        for (TypeVariable<?> v : c.getTypeParameters()) {
            types.addAll(List.of(v.getBounds()));
        }
        boolean subclassable = !Modifier.isFinal(c.getModifiers());
        for (Method m : c.getDeclaredMethods()) {
            if (visible(m, subclassable) && !m.isSynthetic() && !m.isBridge()) {
                types.add(m.getGenericReturnType());
                types.addAll(List.of(m.getGenericParameterTypes()));
                types.addAll(List.of(m.getGenericExceptionTypes()));
                for (TypeVariable<?> v : m.getTypeParameters()) {
                    types.addAll(List.of(v.getBounds()));
                }
            }
        }
        for (Constructor<?> k : c.getDeclaredConstructors()) {
            if (visible(k, subclassable) && !k.isSynthetic()) {
                types.addAll(List.of(k.getGenericParameterTypes()));
                types.addAll(List.of(k.getGenericExceptionTypes()));
            }
        }
        for (Field f : c.getDeclaredFields()) {
            if (visible(f, subclassable) && !f.isSynthetic()) {
                types.add(f.getGenericType());
            }
        }
        if (c.isRecord()) {
            for (RecordComponent rc : c.getRecordComponents()) {
                types.add(rc.getGenericType());
            }
        }
        return types;
    }

    private static boolean visible(Member m, boolean subclassable) {
        int mod = m.getModifiers();
        return Modifier.isPublic(mod) || (subclassable && Modifier.isProtected(mod));
    }

    /** The raw classes a (generic) type mentions, recursively. */
    private static Set<Class<?>> rawClasses(Type t, Set<Type> seen) {
        Set<Class<?>> out = new HashSet<>();
        if (t == null || !seen.add(t)) {
            return out;
        }
        if (t instanceof Class<?> c) {
            out.add(c);
        } else if (t instanceof ParameterizedType p) {
            out.addAll(rawClasses(p.getRawType(), seen));
            for (Type a : p.getActualTypeArguments()) {
                out.addAll(rawClasses(a, seen));
            }
            out.addAll(rawClasses(p.getOwnerType(), seen));
        } else if (t instanceof WildcardType w) {
            for (Type b : w.getUpperBounds()) {
                out.addAll(rawClasses(b, seen));
            }
            for (Type b : w.getLowerBounds()) {
                out.addAll(rawClasses(b, seen));
            }
        } else if (t instanceof GenericArrayType a) {
            out.addAll(rawClasses(a.getGenericComponentType(), seen));
        } else if (t instanceof TypeVariable<?> v) {
            for (Type b : v.getBounds()) {
                out.addAll(rawClasses(b, seen));
            }
        }
        return out;
    }
}
