package probe;

/**
 * A class outside the packages a model configuration may name; its static initializer records that it ran, which
 * is what a hostile {@code "@class"} would exploit.
 */
public final class StaticInitProbe {

    /** System property set when this class is initialised. */
    public static final String PROPERTY = "transcnn.test.static-init-probe";

    static {
        System.setProperty(PROPERTY, "initialised");
    }

    private StaticInitProbe() {
    }
}
