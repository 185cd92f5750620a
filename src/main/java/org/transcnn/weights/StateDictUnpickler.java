package org.transcnn.weights;

import net.razorvine.pickle.IObjectConstructor;
import net.razorvine.pickle.Opcodes;
import net.razorvine.pickle.PickleException;
import net.razorvine.pickle.PickleUtils;
import net.razorvine.pickle.Unpickler;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * Razorvine {@link Unpickler} restricted to what a {@code torch.save(state_dict)} pickle needs: the globals
 * {@code collections.OrderedDict}, {@code torch._utils._rebuild_tensor_v2}, {@code torch._utils._rebuild_parameter}
 * and the typed storage classes. Any other global (and INST/OBJ/EXT opcodes) is refused by name; nothing is ever
 * instantiated from the stream. Length-prefixed opcodes are checked against the bytes left before razorvine
 * allocates their buffers, so a corrupt length cannot exhaust memory.
 */
final class StateDictUnpickler extends Unpickler {

    /** Storage types accepted, with their element size in bytes. */
    static final Map<String, Integer> STORAGE_TYPES = Map.of(
            "FloatStorage", 4, "DoubleStorage", 8, "LongStorage", 8, "IntStorage", 4);

    private static final Set<String> ALLOWED = Set.of("collections.OrderedDict", "torch._utils._rebuild_tensor_v2",
            "torch._utils._rebuild_parameter");

    /**
     * Every global a state_dict pickle may name, sorted, for the refusal message: a fixed order lets users (and
     * tests) compare the list from one run to the next.
     */
    static final List<String> ALLOWED_SORTED = allowedSorted();

    private final ByteArrayInputStream in;

    /** A storage reference from a persistent id: ('storage', type, key, location, numel). */
    record StorageRef(String type, String key, long numel) {
    }

    /** The arguments of _rebuild_tensor_v2. */
    record TensorRef(StorageRef storage, long offset, long[] size, long[] stride) {
    }

    /** The GLOBAL naming a storage type; it is only ever a tag inside persistent ids. */
    record StorageType(String name) implements IObjectConstructor {
        @Override
        public Object construct(Object[] args) {
            throw new PickleException("storage type " + name + " cannot be called");
        }
    }

    /** OrderedDict; its __setstate__ receives the state_dict's _metadata, which is ignored. */
    public static final class StateDict extends LinkedHashMap<Object, Object> {
        public void __setstate__(HashMap<?, ?> state) {
            // _metadata (module versions) is not needed
        }
    }

    StateDictUnpickler(byte[] pickle) {
        this.in = new ByteArrayInputStream(pickle);
    }

    Object load() throws IOException {
        return load(in);
    }

    @Override
    protected Object dispatch(short key) throws PickleException, IOException {
        switch (key) {
            case Opcodes.GLOBAL:
                stack.add(global(PickleUtils.readline(input), PickleUtils.readline(input)));
                return NO_RETURN_VALUE;
            case Opcodes.STACK_GLOBAL: {
                Object name = stack.pop();
                Object module = stack.pop();
                if (!(name instanceof String) || !(module instanceof String)) {
                    throw new PickleException("STACK_GLOBAL needs two strings");
                }
                stack.add(global((String) module, (String) name));
                return NO_RETURN_VALUE;
            }
            case Opcodes.INST:
            case Opcodes.OBJ:
            case Opcodes.EXT1:
            case Opcodes.EXT2:
            case Opcodes.EXT4:
                throw new PickleException("pickle opcode 0x" + Integer.toHexString(key) + " is not allowed in a state_dict");
            case Opcodes.BINSTRING:
            case Opcodes.BINUNICODE:
            case Opcodes.BINBYTES:
            case Opcodes.LONG4:
                checkLength(4);
                break;
            case Opcodes.BINUNICODE8:
            case Opcodes.BINBYTES8:
            case Opcodes.BYTEARRAY8:
                checkLength(8);
                break;
            case Opcodes.INT:
            case Opcodes.LONG:
                checkLineLength(40);
                break;
            case Opcodes.SETITEM: {
                Object value = stack.pop();
                Object name = stack.pop();
                dict().put(key(name), value);
                return NO_RETURN_VALUE;
            }
            case Opcodes.SETITEMS: {
                List<Object> items = stack.pop_all_since_marker();
                Map<Object, Object> dict = dict();
                for (int i = 0; i + 1 < items.size(); i += 2) {
                    dict.put(key(items.get(i)), items.get(i + 1));
                }
                return NO_RETURN_VALUE;
            }
            case Opcodes.DICT: {
                List<Object> items = stack.pop_all_since_marker();
                Map<Object, Object> dict = new HashMap<>();
                for (int i = 0; i + 1 < items.size(); i += 2) {
                    dict.put(key(items.get(i)), items.get(i + 1));
                }
                stack.add(dict);
                return NO_RETURN_VALUE;
            }
            case Opcodes.EMPTY_SET:
            case Opcodes.ADDITEMS:
            case Opcodes.FROZENSET:
                throw new PickleException("pickle sets are not allowed in a state_dict");
            default:
                break;
        }
        return super.dispatch(key);
    }

    /** Dict keys must be strings or integers: hashing other objects (nested lists) can recurse without bound. */
    private static Object key(Object key) {
        if (key instanceof String || key instanceof Integer || key instanceof Long) {
            return key;
        }
        throw new PickleException("dict key of type " + (key == null ? "None" : key.getClass().getSimpleName())
                + " is not allowed in a state_dict");
    }

    @SuppressWarnings("unchecked")
    private Map<Object, Object> dict() {
        Object target = stack.peek();
        if (!(target instanceof Map)) {
            throw new PickleException("SETITEM on a " + (target == null ? "None" : target.getClass().getSimpleName()));
        }
        return (Map<Object, Object>) target;
    }

    /** Refuses decimal INT/LONG lines longer than {@code max} characters (their parsing is quadratic). */
    private void checkLineLength(int max) {
        in.mark(max + 2);
        int n = 0;
        int b;
        while ((b = in.read()) >= 0 && b != '\n') {
            if (++n > max) {
                throw new PickleException("pickle integer literal longer than " + max + " digits");
            }
        }
        in.reset();
    }

    private void checkLength(int width) {
        in.mark(16);
        long n = 0;
        for (int i = 0; i < width; i++) {
            int b = in.read();
            if (b < 0) {
                throw new PickleException("pickle ends inside a length field");
            }
            n |= ((long) b) << (8 * i);
        }
        if (width == 4) {
            n = (int) n;
        }
        int left = in.available();
        in.reset();
        if (n < 0 || n > left) {
            throw new PickleException("pickle item claims " + n + " bytes but only " + left + " remain");
        }
    }

    private static List<String> allowedSorted() {
        TreeSet<String> all = new TreeSet<>(ALLOWED);
        STORAGE_TYPES.keySet().forEach(type -> all.add("torch." + type));
        return List.copyOf(all);
    }

    private IObjectConstructor global(String module, String name) {
        String full = module + "." + name;
        if (module.equals("torch") && STORAGE_TYPES.containsKey(name)) {
            return new StorageType(name);
        }
        if (!ALLOWED.contains(full)) {
            throw new PickleException("pickle global '" + full + "' is not allowed in a state_dict checkpoint "
                    + "(allowed: " + String.join(", ", ALLOWED_SORTED) + ")");
        }
        switch (full) {
            case "collections.OrderedDict":
                return args -> {
                    if (args.length != 0) {
                        throw new PickleException("OrderedDict with constructor arguments is not a state_dict");
                    }
                    return new StateDict();
                };
            case "torch._utils._rebuild_parameter":
                return args -> {
                    if (args.length < 1 || !(args[0] instanceof TensorRef)) {
                        throw new PickleException("_rebuild_parameter without a tensor");
                    }
                    return args[0];
                };
            default:
                return StateDictUnpickler::rebuildTensor;
        }
    }

    private static Object rebuildTensor(Object[] args) {
        if (args.length < 4 || !(args[0] instanceof StorageRef) || !(args[2] instanceof Object[])
                || !(args[3] instanceof Object[])) {
            throw new PickleException("malformed _rebuild_tensor_v2 arguments");
        }
        long[] size = longs((Object[]) args[2], "size");
        long[] stride = longs((Object[]) args[3], "stride");
        if (size.length != stride.length) {
            throw new PickleException("tensor size " + size.length + "-d but stride " + stride.length + "-d");
        }
        return new TensorRef((StorageRef) args[0], number(args[1], "storage offset"), size, stride);
    }

    private static long[] longs(Object[] tuple, String what) {
        long[] out = new long[tuple.length];
        for (int i = 0; i < tuple.length; i++) {
            out[i] = number(tuple[i], what);
        }
        return out;
    }

    private static long number(Object o, String what) {
        if (!(o instanceof Integer || o instanceof Long)) {
            throw new PickleException(what + " is not an integer but a "
                    + (o == null ? "None" : o.getClass().getSimpleName()));
        }
        long v = ((Number) o).longValue();
        if (v < 0) {
            throw new PickleException(what + " is negative: " + v);
        }
        return v;
    }

    @Override
    protected Object persistentLoad(Object pid) {
        if (!(pid instanceof Object[]) || ((Object[]) pid).length != 5 || !"storage".equals(((Object[]) pid)[0])
                || !(((Object[]) pid)[1] instanceof StorageType) || !(((Object[]) pid)[2] instanceof String)) {
            throw new PickleException("unsupported persistent id (expected ('storage', type, key, location, numel))");
        }
        Object[] p = (Object[]) pid;
        return new StorageRef(((StorageType) p[1]).name(), (String) p[2], number(p[4], "storage size"));
    }
}
