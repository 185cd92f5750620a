package org.transcnn.cli;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.transcnn.Fixtures;
import org.transcnn.SpecialFiles;
import org.transcnn.data.Npy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

/** {@code transcnn infer} on hostile inputs: special files, NaN and infinity in, overflow out. */
class InferCommandTest {

    static final String F = "transcnn-mini-128";

    @TempDir
    Path dir;

    static TransCnnCliAccess.Result infer(Path input, Path out) {
        return TransCnnCliAccess.run("infer", "--weights", Fixtures.file(F, "model.pth").toString(), "--input",
                input.toString(), "--out", out.toString(), "--head-dim", "32");
    }

    @Test
    void anInputThatIsNotARegularFileIsRefusedWithoutBlocking() throws Exception {
        Path fifo = SpecialFiles.fifo(dir.resolve("pipe.npy"));
        TransCnnCliTest.assertError(assertTimeoutPreemptively(Duration.ofSeconds(30),
                () -> infer(fifo, dir.resolve("o"))), fifo + " (--input): not a regular file but a FIFO");
        Path d = Files.createDirectory(dir.resolve("d.npy"));
        TransCnnCliTest.assertError(infer(d, dir.resolve("o")), d + " (--input): not a regular file but a directory");
        TransCnnCliTest.assertError(infer(dir.resolve("none.npy"), dir.resolve("o")),
                dir.resolve("none.npy") + ": no such file (--input)");
    }

    @Test
    void aNonFiniteInputIsRefusedWithItsIndex() throws Exception {
        INDArray x = Fixtures.npy(F, "input.npy").dup();
        x.putScalar(new long[] {1, 2, 3, 4}, Float.NaN);
        Path nan = dir.resolve("nan.npy");
        Npy.write(x, nan);
        TransCnnCliTest.assertError(infer(nan, dir.resolve("o")),
                nan + ": NaN at index [1, 2, 3, 4] (shape [3, 3, 128, 128]), expected finite values");
        x.putScalar(new long[] {1, 2, 3, 4}, 0).putScalar(new long[] {2, 0, 0, 0}, Float.POSITIVE_INFINITY);
        Path inf = dir.resolve("inf.npy");
        Npy.write(x, inf);
        TransCnnCliTest.assertError(infer(inf, dir.resolve("o")), inf + ": Infinity at index [2, 0, 0, 0]");
        assertFalse(Files.exists(dir.resolve("o")), "nothing written");
    }

    /** Finite inputs of 3e38 overflow float32 in the network: the first non-finite output is named, none written. */
    @Test
    void aNonFiniteOutputFailsAndWritesNothing() throws Exception {
        INDArray x = Fixtures.npy(F, "input.npy").dup().assign(3e38f);
        Path big = dir.resolve("big.npy");
        Npy.write(x, big);
        Path out = dir.resolve("o");
        TransCnnCliAccess.Result r = infer(big, out);
        TransCnnCliTest.assertError(r, "output stage1 (" + out.resolve("stage1.npy") + "): ");
        TransCnnCliTest.assertError(r, "expected finite values; nothing written (the weights or the input overflow "
                + "float32)");
        assertFalse(Files.exists(out), "nothing written");
    }
}
