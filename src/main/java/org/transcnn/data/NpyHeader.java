package org.transcnn.data;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;

/**
 * The header dictionary of a NumPy {@code .npy} file, parsed strictly: the Python literal numpy writes, e.g.
 * {@code {'descr': '<f4', 'fortran_order': False, 'shape': (1, 3, 224, 224), }} followed by padding spaces and a
 * final {@code '\n'}.
 *
 * <p>numpy reads the header with {@code ast.literal_eval}, so a duplicate key silently keeps its last value; a
 * regular expression would find a {@code 'shape'} hidden inside another value. Both give wrong arrays without an
 * error, so this parser accepts exactly one dictionary with the keys {@code 'descr'} (a string), {@code
 * 'fortran_order'} ({@code True} or {@code False}) and {@code 'shape'} (a tuple of non-negative integers: {@code ()},
 * {@code (3,)}, {@code (2, 3)}, {@code (2, 3,)}), each exactly once, in any order. Between tokens it allows the
 * whitespace Python allows inside brackets (space, tab, CR, LF); a trailing comma is allowed after the last entry
 * and after the last tuple element, as in Python. Strings are single- or double-quoted without escapes or prefixes;
 * integers are decimal without sign, underscores or leading zeros, with the {@code L} suffix of Python 2 numpy
 * accepted (numpy filters it too). Everything else, including a {@code (3)} that Python reads as an integer, is
 * refused with the file, the position and what was expected versus found.
 *
 * @param descr        the dtype string, e.g. {@code <f4}
 * @param fortranOrder whether the data is in Fortran (column-major) order
 * @param shape        the dimensions, each >= 0; empty for a scalar
 */
record NpyHeader(String descr, boolean fortranOrder, long[] shape) {

    private static final String DESCR = "descr";
    private static final String ORDER = "fortran_order";
    private static final String SHAPE = "shape";

    NpyHeader {
        Objects.requireNonNull(descr, "descr");
        shape = shape.clone();
        for (long d : shape) {
            if (d < 0) {
                throw new IllegalArgumentException("negative dimension " + d + " in shape " + Arrays.toString(shape));
            }
        }
    }

    @Override
    public long[] shape() {
        return shape.clone();
    }

    /**
     * Parses {@code text}, the HEADER_LEN bytes after the length field, decoded as Latin-1 (versions 1 and 2) or
     * UTF-8 (version 3).
     *
     * @param file named in every message
     * @throws IOException naming the file, the character position and what was expected versus found
     */
    static NpyHeader parse(Path file, String text) throws IOException {
        return new Parser(file, text).header();
    }

    /** Recursive descent over the header text; {@code at} is the next unread character. */
    private static final class Parser {

        private final Path file;
        private final String text;
        private int at;

        Parser(Path file, String text) {
            this.file = file;
            this.text = text;
        }

        NpyHeader header() throws IOException {
            while (at < text.length() && (text.charAt(at) == ' ' || text.charAt(at) == '\t')) {
                at++;
            }
            expect('{', "'{' opening the header dictionary");
            Map<String, Object> entries = new LinkedHashMap<>();
            skipSpace();
            while (peek() != '}') {
                int keyAt = at;
                String key = string("a key string ('descr', 'fortran_order' or 'shape')");
                if (!key.equals(DESCR) && !key.equals(ORDER) && !key.equals(SHAPE)) {
                    throw fail(keyAt, "unknown key '" + key + "'", "one of 'descr', 'fortran_order', 'shape'");
                }
                if (entries.containsKey(key)) {
                    throw fail(keyAt, "duplicate key '" + key + "'", "each key exactly once");
                }
                skipSpace();
                expect(':', "':' after the key '" + key + "'");
                skipSpace();
                entries.put(key, switch (key) {
                    case DESCR -> string("a string for 'descr', e.g. '<f4'");
                    case ORDER -> bool();
                    default -> tuple();
                });
                skipSpace();
                if (peek() == ',') {
                    at++;
                    skipSpace();
                } else if (peek() != '}') {
                    throw fail(at, null, "',' or '}' after the value of '" + key + "'");
                }
            }
            at++;
            for (String key : new String[] {DESCR, ORDER, SHAPE}) {
                if (!entries.containsKey(key)) {
                    throw new IOException(file + ": .npy header has no '" + key + "' key, expected 'descr', "
                            + "'fortran_order' and 'shape' each once; header: " + quoted(text.stripTrailing()));
                }
            }
            padding();
            return new NpyHeader((String) entries.get(DESCR), (Boolean) entries.get(ORDER),
                    (long[]) entries.get(SHAPE));
        }

        /** After the closing brace: only padding spaces, then the terminating newline as the last character. */
        private void padding() throws IOException {
            int end = at;
            while (end < text.length() && text.charAt(end) == ' ') {
                end++;
            }
            if (end != text.length() - 1 || text.charAt(end) != '\n') {
                throw fail(end, null, "padding spaces then one '\\n' ending the header");
            }
        }

        private String string(String expected) throws IOException {
            int start = at;
            char quote = peek();
            if (quote != '\'' && quote != '"') {
                throw fail(start, null, expected);
            }
            int end = text.indexOf(quote, start + 1);
            if (end < 0) {
                throw fail(start, "an unterminated string", expected);
            }
            String value = text.substring(start + 1, end);
            for (int i = 0; i < value.length(); i++) {
                char c = value.charAt(i);
                if (c == '\\' || c == '\n' || c == '\r') {
                    throw fail(start + 1 + i, "an escape or line break inside a string", "a plain string literal");
                }
            }
            at = end + 1;
            return value;
        }

        private boolean bool() throws IOException {
            if (text.startsWith("True", at) && !identifierAt(at + 4)) {
                at += 4;
                return true;
            }
            if (text.startsWith("False", at) && !identifierAt(at + 5)) {
                at += 5;
                return false;
            }
            throw fail(at, null, "True or False for 'fortran_order'");
        }

        private long[] tuple() throws IOException {
            expect('(', "a tuple for 'shape', e.g. (1, 3, 224, 224), (3,) or ()");
            skipSpace();
            long[] dims = new long[0];
            boolean comma = true;
            while (peek() != ')') {
                if (!comma) {
                    throw fail(at, null, "',' or ')' in the 'shape' tuple");
                }
                dims = Arrays.copyOf(dims, dims.length + 1);
                dims[dims.length - 1] = integer();
                skipSpace();
                comma = peek() == ',';
                if (comma) {
                    at++;
                    skipSpace();
                }
            }
            if (dims.length == 1 && !comma) {
                throw fail(at, "(" + dims[0] + ") without a comma, which Python reads as an integer",
                        "a tuple: write (" + dims[0] + ",)");
            }
            at++;
            return dims;
        }

        private long integer() throws IOException {
            int start = at;
            while (at < text.length() && text.charAt(at) >= '0' && text.charAt(at) <= '9') {
                at++;
            }
            String digits = text.substring(start, at);
            if (digits.isEmpty()) {
                throw fail(start, null, "a non-negative integer dimension");
            }
            if (digits.length() > 1 && digits.charAt(0) == '0') {
                throw fail(start, "the integer " + digits + " with a leading zero", "a decimal dimension");
            }
            if (peek() == 'L') {
                at++;
            }
            if (identifierAt(at)) {
                throw fail(start, null, "a non-negative integer dimension");
            }
            try {
                return Long.parseLong(digits);
            } catch (NumberFormatException e) {
                throw fail(start, "the dimension " + digits, "a dimension below 2^63");
            }
        }

        private boolean identifierAt(int i) {
            return i < text.length() && (Character.isLetterOrDigit(text.charAt(i)) || text.charAt(i) == '_');
        }

        private void expect(char c, String expected) throws IOException {
            if (peek() != c) {
                throw fail(at, null, expected);
            }
            at++;
        }

        private void skipSpace() {
            while (at < text.length() && " \t\r\n".indexOf(text.charAt(at)) >= 0) {
                at++;
            }
        }

        /** The next character, or U+0000 (which a header cannot usefully contain) at the end. */
        private char peek() {
            return at < text.length() ? text.charAt(at) : '\0';
        }

        /** An error at character {@code pos}: what was found (the text there unless given) and what was expected. */
        private IOException fail(int pos, String found, String expected) {
            String got = found != null ? found
                    : pos >= text.length() ? "the end of the header"
                    : quoted(text.substring(pos, Math.min(text.length(), pos + 12)));
            return new IOException(file + ": bad .npy header at character " + pos + ": expected " + expected
                    + ", found " + got + "; header: " + quoted(text.stripTrailing()));
        }
    }

    /** {@code s} in double quotes, with control characters escaped and long text shortened, for a message. */
    private static String quoted(String s) {
        StringBuilder b = new StringBuilder("\"");
        String shown = s.length() > 200 ? s.substring(0, 200) : s;
        for (char c : shown.toCharArray()) {
            if (c == '\n') {
                b.append("\\n");
            } else if (c < 0x20 || c == 0x7f) {
                b.append(String.format("\\x%02x", (int) c));
            } else {
                b.append(c);
            }
        }
        return b.append(s.length() > 200 ? "...\"" : "\"").toString();
    }
}
