package probe.transcnnprobe;

import java.io.IOException;
import java.net.URL;
import java.net.URLConnection;
import java.net.URLStreamHandler;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * URL handler of the {@code transcnnprobe:} protocol (found through {@code java.protocol.handler.pkgs=probe}): the
 * recording stand-in for DNS in a URLDNS-style payload. Deserializing a {@code HashMap} keyed by such a URL calls
 * {@link #hashCode(URL)}, where the http handler would resolve the host the file's author chose.
 */
public final class Handler extends URLStreamHandler {

    /** How many times a URL's hash (the DNS lookup of URLDNS) was computed. */
    public static final AtomicInteger LOOKUPS = new AtomicInteger();

    @Override
    protected URLConnection openConnection(URL u) throws IOException {
        throw new IOException("the probe opens no connection");
    }

    /** Records the lookup; -1 keeps the URL's cached hash unset, so it is computed again after deserialization. */
    @Override
    protected int hashCode(URL u) {
        LOOKUPS.incrementAndGet();
        return -1;
    }
}
