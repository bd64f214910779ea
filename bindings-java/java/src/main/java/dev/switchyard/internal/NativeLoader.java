//! Loads the native library from inside the jar: extracted once per content to a cache file, then System.load.
package dev.switchyard.internal;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.nio.file.StandardCopyOption;
import java.util.Locale;

/**
 * The jar carries {@code /native/linux-x86_64/libswitchyard_java.so} and its SHA-256
 * ({@code .sha256}). The library is copied once to
 * {@code $SWITCHYARD_CACHE_DIR} (default {@code java.io.tmpdir}) {@code /switchyard-java/<sha256>/}
 * and loaded from there; a later JVM finds it in place. {@code -Dswitchyard.library=PATH}
 * (or {@code SWITCHYARD_JAVA_LIBRARY}) loads another build instead.
 */
final class NativeLoader {
    static final String PLATFORM = "linux-x86_64";
    private static final String NAME = "libswitchyard_java.so";

    private NativeLoader() {}

    static void load() {
        String override = System.getProperty("switchyard.library", System.getenv("SWITCHYARD_JAVA_LIBRARY"));
        if (override != null && !override.isEmpty()) {
            System.load(Paths.get(override).toAbsolutePath().toString());
            return;
        }
        String platform = platform(System.getProperty("os.name"), System.getProperty("os.arch"));
        String base = "/native/" + platform + "/" + NAME;
        try (InputStream hash = NativeLoader.class.getResourceAsStream(base + ".sha256")) {
            if (hash == null) {
                throw new IllegalStateException("the Switchyard jar has no native library at " + base
                        + ": build it with `make java-sdk`");
            }
            String sha = new String(hash.readAllBytes(), StandardCharsets.US_ASCII).trim().split("\\s+")[0];
            System.load(extracted(base, sha).toString());
        } catch (IOException e) {
            throw new IllegalStateException("cannot extract the Switchyard native library: " + e, e);
        }
    }

    /** The platform directory for this OS and CPU; only linux-x86_64 is built. */
    static String platform(String os, String arch) {
        String o = os == null ? "" : os.toLowerCase(Locale.ROOT);
        String a = arch == null ? "" : arch.toLowerCase(Locale.ROOT);
        if (o.startsWith("linux") && (a.equals("amd64") || a.equals("x86_64"))) {
            return PLATFORM;
        }
        throw new UnsupportedOperationException("Switchyard's native library is built for " + PLATFORM
                + " only; this JVM runs on " + os + "/" + arch);
    }

    private static Path extracted(String resource, String sha) throws IOException {
        String root = System.getenv().getOrDefault("SWITCHYARD_CACHE_DIR", System.getProperty("java.io.tmpdir"));
        Path dir = Paths.get(root, "switchyard-java", sha);
        Path target = dir.resolve(NAME);
        if (Files.isRegularFile(target)) {
            return target;
        }
        Files.createDirectories(dir);
        Path partial = Files.createTempFile(dir, NAME, ".part");
        try (InputStream in = NativeLoader.class.getResourceAsStream(resource)) {
            if (in == null) {
                throw new IOException("missing resource " + resource);
            }
            Files.copy(in, partial, StandardCopyOption.REPLACE_EXISTING);
            try {
                Files.move(partial, target, StandardCopyOption.ATOMIC_MOVE);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(partial, target, StandardCopyOption.REPLACE_EXISTING);
            }
        } finally {
            Files.deleteIfExists(partial);
        }
        return target;
    }
}
