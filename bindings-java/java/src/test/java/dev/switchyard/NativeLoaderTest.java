//! The native library's platform check and its extraction from the jar's resources.
package dev.switchyard.internal;

import static org.junit.jupiter.api.Assertions.*;

import dev.switchyard.Switchyard;
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
    void theLibraryLoadsFromTheJarsResources() {
        assertNotNull(NativeLoader.class.getResource("/native/linux-x86_64/libswitchyard_java.so"));
        assertFalse(Switchyard.version().isEmpty());
    }
}
