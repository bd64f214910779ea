//! Every scenario file in tests/conformance/scenarios/ and scenarios-next/ through the Java client, sync and async (SWITCHYARD_SCENARIO_DIRS, separated by the path separator, runs other folders instead).
package dev.switchyard;

import static org.junit.jupiter.api.Assertions.assertFalse;

import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

class ConformanceTest {
    static List<Path> files() throws IOException {
        String given = System.getenv().getOrDefault("SWITCHYARD_SCENARIO_DIRS", "");
        List<Path> dirs = new ArrayList<>();
        for (String d : given.split(File.pathSeparator)) {
            if (!d.isEmpty()) {
                dirs.add(Paths.get(d));
            }
        }
        if (dirs.isEmpty()) {
            dirs.add(Mock.ROOT.resolve("tests").resolve("conformance").resolve("scenarios"));
            dirs.add(Mock.ROOT.resolve("tests").resolve("conformance").resolve("scenarios-next"));
        }
        List<Path> files = new ArrayList<>();
        for (Path dir : dirs) {
            try (Stream<Path> list = Files.list(dir)) {
                list.filter(p -> p.toString().matches(".*\\.ya?ml$")).sorted().forEach(files::add);
            }
        }
        assertFalse(files.isEmpty(), "no scenario files in " + dirs);
        return files;
    }

    static Stream<DynamicTest> scenarios(boolean async) throws IOException {
        Mock mock = Mock.shared();
        return files().stream().map(file -> DynamicTest.dynamicTest(
                file.getFileName().toString().replaceAll("\\.ya?ml$", ""),
                () -> ScenarioRunner.run(mock, Files.readString(file), async)));
    }

    @TestFactory
    Stream<DynamicTest> sync() throws IOException {
        return scenarios(false);
    }

    @TestFactory
    Stream<DynamicTest> async() throws IOException {
        return scenarios(true);
    }
}
