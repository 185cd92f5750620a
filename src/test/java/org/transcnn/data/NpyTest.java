package org.transcnn.data;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.transcnn.SpecialFiles;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The {@code .npy} reader on files built byte by byte: the headers numpy writes are read, every header numpy would
 * refuse or misread (duplicate keys, a 'shape' hidden in another value, unknown or missing keys, bad literals) and
 * every size mismatch is refused with a message naming the file.
 */
class NpyTest {

    @TempDir
    Path dir;

    /** A version-1.0 file: magic, the dictionary padded with spaces and '\n' to 64 bytes as numpy does, data. */
    static byte[] npy(String dict, byte[] data) {
        int pad = 63 - (10 + dict.length()) % 64;
        return npy(1, dict + " ".repeat(pad) + "\n", data);
    }

    /** A file of the given major version with {@code header} exactly as given (no padding added). */
    static byte[] npy(int major, String header, byte[] data) {
        byte[] h = header.getBytes(StandardCharsets.ISO_8859_1);
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        b.writeBytes(new byte[] {(byte) 0x93, 'N', 'U', 'M', 'P', 'Y', (byte) major, 0});
        ByteBuffer len = ByteBuffer.allocate(major == 1 ? 2 : 4).order(ByteOrder.LITTLE_ENDIAN);
        if (major == 1) {
            len.putShort((short) h.length);
        } else {
            len.putInt(h.length);
        }
        b.writeBytes(len.array());
        b.writeBytes(h);
        b.writeBytes(data);
        return b.toByteArray();
    }

    /** Little-endian float32 bytes of {@code values}. */
    static byte[] f4(float... values) {
        ByteBuffer b = ByteBuffer.allocate(4 * values.length).order(ByteOrder.LITTLE_ENDIAN);
        for (float v : values) {
            b.putFloat(v);
        }
        return b.array();
    }

    Path file(String name, byte[] content) throws IOException {
        return Files.write(dir.resolve(name), content);
    }

    /** Reading {@code file} fails with a message naming it and containing {@code expected}. */
    static IOException assertRefused(Path file, String expected) {
        IOException e = assertThrows(IOException.class, () -> Npy.read(file));
        assertTrue(e.getMessage().contains(file.toString()), "names the file: " + e.getMessage());
        assertTrue(e.getMessage().contains(expected), "says '" + expected + "': " + e.getMessage());
        return e;
    }

    @Test
    void readsTheHeadersNumpyWrites() throws IOException {
        float[] values = new float[2 * 3 * 2 * 2];
        for (int i = 0; i < values.length; i++) {
            values[i] = i * 0.5f - 3;
        }
        INDArray x = Npy.read(file("a.npy", npy("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3, 2, 2), }",
                f4(values))));
        assertArrayEquals(new long[] {2, 3, 2, 2}, x.shape());
        assertEquals(values[15], x.getFloat(1, 0, 1, 1), "row-major: 1*12 + 0*4 + 1*2 + 1");
        INDArray v = Npy.read(file("v.npy", npy("{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }",
                f4(1, 2, 3))));
        assertArrayEquals(new long[] {3}, v.shape());
        assertArrayEquals(new float[] {1, 2, 3}, v.toFloatVector());
        INDArray s = Npy.read(file("s.npy", npy("{'descr': '<f4', 'fortran_order': False, 'shape': (), }",
                f4(7.5f))));
        assertEquals(0, s.rank());
        assertEquals(7.5f, s.getFloat(0));
        ByteBuffer d = ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN).putDouble(0.25).putDouble(-1e10);
        INDArray f8 = Npy.read(file("d.npy", npy("{'descr': '<f8', 'fortran_order': False, 'shape': (1, 2), }",
                d.array())));
        assertArrayEquals(new float[] {0.25f, -1e10f}, f8.toFloatVector());
    }

    /** Python literal forms other writers use: key order, quotes, spacing, no trailing comma, versions 2 and 3. */
    @ParameterizedTest
    @ValueSource(strings = {
        "{'shape': (2,), 'fortran_order': False, 'descr': '<f4'}",
        "{\"descr\":\"<f4\",\"fortran_order\":False,\"shape\":(2,)}",
        "{ 'descr' : '<f4' ,\n 'fortran_order' : False ,\t'shape' : ( 2 , ) , }",
        "{'descr': '<f4', 'fortran_order': False, 'shape': (2L,), }"})
    void acceptsOtherValidSpellings(String dict) throws IOException {
        assertArrayEquals(new float[] {4, 5}, Npy.read(file("a.npy", npy(dict, f4(4, 5)))).toFloatVector());
        String padded = dict + " ".repeat(9) + "\n";
        assertArrayEquals(new float[] {4, 5}, Npy.read(file("b.npy", npy(2, padded, f4(4, 5)))).toFloatVector());
        assertArrayEquals(new float[] {4, 5}, Npy.read(file("c.npy", npy(3, padded, f4(4, 5)))).toFloatVector());
    }

    @Test
    void readsWhatNpyWriteWrote() throws IOException {
        INDArray a = org.nd4j.linalg.factory.Nd4j.create(new float[] {1, -2, 3, 4, 5, 6}, new long[] {1, 2, 3}, 'c');
        Path f = dir.resolve("w.npy");
        Npy.write(a, f);
        assertEquals(a, Npy.read(f));
    }

    /** numpy keeps the last of duplicate keys; the old reader took the first. Either is a silent guess: refused. */
    @Test
    void duplicateKeysAreRefused() throws IOException {
        assertRefused(file("dup.npy", npy("{'descr': '<f4', 'descr': '<f8', 'fortran_order': False, 'shape': (2,), }",
                f4(1, 2))), "duplicate key 'descr'");
        assertRefused(file("dup2.npy", npy("{'descr': '<f4', 'fortran_order': False, 'shape': (1,), 'shape': (2,), }",
                f4(1, 2))), "duplicate key 'shape'");
    }

    /** A 'shape' inside another value: the old regular expression read (1,) from the string, numpy refuses. */
    @Test
    void aShapeInsideAnotherValueIsNotRead() throws IOException {
        Path f = file("hidden.npy", npy("{'descr': '<f4', 'fortran_order': False, 'x': \"'shape': (1,)\", "
                + "'shape': (2,), }", f4(1, 2)));
        assertRefused(f, "unknown key 'x'");
        Path g = file("hidden2.npy", npy("{'descr': \"<f4', 'shape': (1,), '\", 'fortran_order': False, "
                + "'shape': (2,), }", f4(1, 2)));
        assertRefused(g, "dtype '<f4', 'shape': (1,), '' is not supported");
    }

    @Test
    void unknownAndMissingKeysAreRefused() throws IOException {
        assertRefused(file("unknown.npy", npy("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), "
                + "'order': 'C', }", f4(1, 2))), "found unknown key 'order'");
        assertRefused(file("noshape.npy", npy("{'descr': '<f4', 'fortran_order': False, }", f4(1))),
                "has no 'shape' key");
        assertRefused(file("noorder.npy", npy("{'descr': '<f4', 'shape': (1,), }", f4(1))),
                "has no 'fortran_order' key");
        assertRefused(file("empty.npy", npy("{}", f4(1))), "has no 'descr' key");
    }

    /** Each bad literal: the message says what was expected and what was found there. */
    @ParameterizedTest
    @CsvSource(delimiter = '|', quoteCharacter = '"', value = {
        "{'descr': '<f4', 'fortran_order': false, 'shape': (2,), }       | expected True or False",
        "{'descr': '<f4', 'fortran_order': 0, 'shape': (2,), }           | expected True or False",
        "{'descr': '<f4', 'fortran_order': False, 'shape': (2), }        | write (2,)",
        "{'descr': '<f4', 'fortran_order': False, 'shape': [2], }        | expected a tuple for 'shape'",
        "{'descr': '<f4', 'fortran_order': False, 'shape': (-2,), }      | expected a non-negative integer",
        "{'descr': '<f4', 'fortran_order': False, 'shape': (02,), }      | leading zero",
        "{'descr': '<f4', 'fortran_order': False, 'shape': (2.0,), }     | expected ',' or ')'",
        "{'descr': '<f4', 'fortran_order': False, 'shape': (1,,2), }     | expected a non-negative integer",
        "{'descr': '<f4', 'fortran_order': False, 'shape': (2,) 'x': 1}  | expected ',' or '}'",
        "{'descr': '<f4', 'fortran_order': False, 'shape': (2,),, }      | expected a key string",
        "{'descr': <f4, 'fortran_order': False, 'shape': (2,), }         | expected a string for 'descr'",
        "{'descr': '<f4, 'fortran_order': False, 'shape': (2,), }        | expected ',' or '}'",
        "{'descr': '<\\x66\\x34', 'fortran_order': False, 'shape': (2,)} | an escape or line break",
        "{descr: '<f4', 'fortran_order': False, 'shape': (2,), }         | expected a key string",
        "{'descr' '<f4', 'fortran_order': False, 'shape': (2,), }        | expected ':' after the key 'descr'",
        "['descr', '<f4']                                                | expected '{' opening",
        "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }}      | padding spaces then one '\\n'",
        "{'descr': '<f4', 'fortran_order': False, 'shape': (2,),         | expected a key string"})
    void badLiteralsAreRefusedWithWhatWasExpected(String dict, String expected) throws IOException {
        IOException e = assertRefused(file("bad.npy", npy(dict.strip(), f4(1, 2))), expected);
        assertTrue(e.getMessage().contains("bad .npy header at character") || e.getMessage().contains("dtype"),
                e.getMessage());
    }

    @Test
    void theHeaderMustEndWithPaddingAndANewline() throws IOException {
        String dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }";
        assertRefused(file("nonl.npy", npy(1, dict + "          ", f4(1, 2))), "found the end of the header");
        assertRefused(file("junk.npy", npy(1, dict + "    x    \n", f4(1, 2))), "found \"x    \\n\"");
        assertRefused(file("two.npy", npy(1, dict + "\n\n", f4(1, 2))), "padding spaces then one '\\n'");
    }

    @Test
    void fortranOrderIsRefusedClearly() throws IOException {
        assertRefused(file("f.npy", npy("{'descr': '<f4', 'fortran_order': True, 'shape': (2, 3), }",
                f4(1, 2, 3, 4, 5, 6))), "Fortran-order arrays are not supported");
    }

    @Test
    void dataBytesMustMatchTheShapeExactly() throws IOException {
        String dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 2), }";
        assertRefused(file("short.npy", npy(dict, f4(1, 2, 3))), "needs 16 data bytes, the file has 12");
        assertRefused(file("long.npy", npy(dict, f4(1, 2, 3, 4, 5))), "needs 16 data bytes, the file has 20");
    }

    /** Dimensions whose product overflows a long, or is huge: refused from the header, without allocating. */
    @Test
    void hugeShapesAreRefusedBeforeAllocating() throws IOException {
        Path overflow = file("overflow.npy", npy("{'descr': '<f8', 'fortran_order': False, "
                + "'shape': (4294967296, 4294967296), }", f4(1)));
        Path huge = file("huge.npy", npy("{'descr': '<f4', 'fortran_order': False, 'shape': (100000, 100000), }",
                f4(1)));
        Path big = file("big.npy", npy("{'descr': '<f4', 'fortran_order': False, "
                + "'shape': (99999999999999999999,), }", f4(1)));
        assertTimeoutPreemptively(Duration.ofSeconds(5), () -> {
            long before = SpecialFiles.allocatedBytes();
            assertRefused(overflow, "more than 2^63 bytes");
            assertRefused(huge, "needs 40000000000 data bytes, the file has 4");
            assertRefused(big, "expected a dimension below 2^63");
            long used = SpecialFiles.allocatedBytes() - before;
            assertTrue(before < 0 || used < 16 << 20, "allocated " + used + " bytes");
        });
    }

    @Test
    void specialFilesAreRefusedByKind() throws Exception {
        Path fifo = SpecialFiles.fifo(dir.resolve("pipe.npy"));
        assertTimeoutPreemptively(Duration.ofSeconds(5),
                () -> assertRefused(fifo, "not a regular file but a FIFO"));
        assertRefused(Files.createDirectory(dir.resolve("d.npy")), "not a regular file but a directory");
        assertRefused(dir.resolve("missing.npy"), "no such file");
        Path zero = Path.of("/dev/zero");
        if (Files.exists(zero)) {
            assertTimeoutPreemptively(Duration.ofSeconds(5),
                    () -> assertRefused(zero, "not a regular file but a character device"));
        }
    }

    @Test
    void readFiniteRefusesNanAndInfinityWithTheIndex() throws IOException {
        String dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }";
        Path nan = file("nan.npy", npy(dict, f4(0, 1, 2, 3, Float.NaN, Float.POSITIVE_INFINITY)));
        assertTrue(Float.isNaN(Npy.read(nan).getFloat(1, 1)), "read keeps NaN: it is data");
        IOException e = assertThrows(IOException.class, () -> Npy.readFinite(nan));
        assertTrue(e.getMessage().contains("nan.npy: NaN at index [1, 1] (shape [2, 3]), expected finite values"),
                e.getMessage());
        Path inf = file("inf.npy", npy(dict, f4(0, Float.NEGATIVE_INFINITY, 2, 3, 4, 5)));
        IOException i = assertThrows(IOException.class, () -> Npy.readFinite(inf));
        assertTrue(i.getMessage().contains("inf.npy: -Infinity at index [0, 1]"), i.getMessage());
        assertArrayEquals(new float[] {1, 2}, Npy.readFinite(file("ok.npy", npy(
                "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }", f4(1, 2)))).toFloatVector());
    }
}
