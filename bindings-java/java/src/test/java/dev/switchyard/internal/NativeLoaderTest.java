//! The native library's platform check and its extraction from the jar's resources.
package dev.switchyard.internal;

import static org.junit.jupiter.api.Assertions.*;

import dev.switchyard.Switchyard;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import org.junit.jupiter.api.Test;

class NativeLoaderTest {
    @Test
    void onlyLinuxX8664IsBuilt() {
        assertEquals("linux-x86_64", NativeLoader.platform("Linux", "amd64"));
        assertEquals("linux-x86_64", NativeLoader.platform("Linux", "x86_64"));
        UnsupportedOperationException mac = assertThrows(UnsupportedOperationException.class,
                () -> NativeLoader.platform("Mac OS X", "aarch64"));
        assertTrue(mac.getMessage().contains("linux-x86_64 only"), mac.getMessage());
        assertTrue(mac.getMessage().contains("Mac OS X/aarch64"), mac.getMessage());
        assertThrows(UnsupportedOperationException.class, () -> NativeLoader.platform("Linux", "aarch64"));
        assertThrows(UnsupportedOperationException.class, () -> NativeLoader.platform("Windows 11", "amd64"));
    }

    @Test
    void theLibraryIsExtractedOnceUnderItsHashAndLoaded() throws Exception {
        String base = "/native/linux-x86_64/libswitchyard_java.so";
        assertNotNull(NativeLoader.class.getResource(base));
        assertFalse(Switchyard.version().isEmpty());
        String sha;
        try (InputStream in = NativeLoader.class.getResourceAsStream(base + ".sha256")) {
            sha = new String(in.readAllBytes(), StandardCharsets.US_ASCII).split("\\s+")[0];
        }
        Path extracted = Paths.get(System.getenv("SWITCHYARD_CACHE_DIR"), "switchyard-java", sha, "libswitchyard_java.so");
        assertTrue(Files.isRegularFile(extracted), extracted.toString());
        try (InputStream in = NativeLoader.class.getResourceAsStream(base)) {
            assertEquals(Files.size(extracted), in.readAllBytes().length);
        }
        // The JVM mapped that very file: the library in use is the extracted one.
        assertTrue(Files.readAllLines(Paths.get("/proc/self/maps")).stream()
                .anyMatch(line -> line.endsWith(extracted.toString())));
    }
}
