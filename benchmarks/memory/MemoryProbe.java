import org.bytedeco.javacpp.Pointer;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.memory.MemoryWorkspace;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.transcnn.models.Preset;
import org.transcnn.models.TransCNN;

import java.util.Locale;

/**
 * Where a training process's memory goes: builds a preset at 256x256 for 1000 classes, runs three training steps on
 * random data (batch 8 unless given), then prints each DL4J workspace of the training thread, the Java heap in use
 * and committed, the parameters (with their gradients and Adam's two moments: four times this) and the resident
 * memory JavaCPP reads from the OS. Run by benchmarks/memory.sh.
 */
public final class MemoryProbe {

    private MemoryProbe() {
    }

    public static void main(String[] args) {
        Preset preset = Preset.parse(args.length > 0 ? args[0] : "SMALL");
        int batch = args.length > 1 ? Integer.parseInt(args[1]) : 8;
        ComputationGraph net = TransCNN.builder(preset).numClasses(1000).inputSize(256, 256).seed(42).build().init();
        DataSet ds = new DataSet(Nd4j.rand(DataType.FLOAT, batch, 3, 256, 256),
                Nd4j.zeros(DataType.FLOAT, batch, 1000).putScalar(0, 1, 1f));
        for (int i = 0; i < 3; i++) {
            net.fit(ds);
        }
        System.out.printf(Locale.ROOT, "%s batch %d: parameters %.1f MB%n", preset, batch, net.numParams() * 4 / 1e6);
        long total = 0;
        for (MemoryWorkspace w : Nd4j.getWorkspaceManager().getAllWorkspacesForCurrentThread()) {
            System.out.printf(Locale.ROOT, "  workspace %-24s %8.1f MB%n", w.getId(), w.getCurrentSize() / 1e6);
            total += w.getCurrentSize();
        }
        Runtime rt = Runtime.getRuntime();
        System.out.printf(Locale.ROOT, "  workspaces %.1f MB, Java heap %.1f MB used of %.1f MB committed, resident %.1f MB%n",
                total / 1e6, (rt.totalMemory() - rt.freeMemory()) / 1e6, rt.totalMemory() / 1e6,
                Pointer.physicalBytes() / 1e6);
    }
}
