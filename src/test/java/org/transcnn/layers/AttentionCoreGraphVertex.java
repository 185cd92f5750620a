package org.transcnn.layers;

import org.deeplearning4j.nn.gradient.DefaultGradient;
import org.deeplearning4j.nn.gradient.Gradient;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.layers.samediff.DL4JSameDiffMemoryMgr;
import org.deeplearning4j.nn.layers.samediff.SameDiffGraphVertex;
import org.deeplearning4j.nn.workspace.ArrayType;
import org.deeplearning4j.nn.workspace.LayerWorkspaceMgr;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.autodiff.samediff.array.SingleThreadArrayHolder;
import org.nd4j.autodiff.samediff.internal.InferenceSession;
import org.nd4j.common.primitives.Pair;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.memory.MemoryWorkspace;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import java.io.OutputStream;
import java.io.PrintStream;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Runtime vertex of a SameDiff attention core ({@link SameDiffWindowCore}): the stock {@link SameDiffGraphVertex} forward pass with a corrected
 * backward pass. Two DL4J 1.0.0-M2.1 bugs of the stock vertex are avoided:
 * <ol>
 *   <li>Doubled gradients: the stock external-errors function adds the incoming gradient twice. This vertex instead
 *       defines its own scalar loss {@code sum(output * epsilon)}, whose gradient is exactly the vector-Jacobian
 *       product DL4J needs.</li>
 *   <li>Wrong gradients after the first backward pass: the stock vertex builds the gradient function inside the
 *       open DL4J workspace, so arrays the gradient function keeps (such as the seed gradient of the loss) live in
 *       workspace memory that the next iteration overwrites; it also reads the input gradients from the variables'
 *       stored arrays. This vertex builds the gradient function outside all workspaces and reads the input
 *       gradients from the map that {@code calculateGradients} returns.</li>
 * </ol>
 */
class AttentionCoreGraphVertex extends SameDiffGraphVertex {

    /** Name of the placeholder that carries dL/dOutput into the SameDiff graph. */
    static final String EPSILON = "transcnnEpsilon";
    private static final String LOSS = "transcnnVjpLoss";

    AttentionCoreGraphVertex(SameDiffWindowCore config, ComputationGraph graph, String name, int vertexIndex,
            INDArray paramsView, boolean initParams, DataType dataType) {
        super(config, graph, name, vertexIndex, paramsView, initParams, dataType);
    }

    @Override
    protected void doInit() {
        try (MemoryWorkspace ws = Nd4j.getWorkspaceManager().scopeOutOfWorkspaces()) {
            sameDiff = SameDiff.create();
            sameDiff.setArrayHolders(new SingleThreadArrayHolder(), new SingleThreadArrayHolder(), false);
            inputVars = new LinkedHashMap<>();
            Map<String, SDVariable> maskVars = new LinkedHashMap<>();
            List<String> names = config.getVertexParams().getInputs();
            for (int i = 0; i < names.size(); i++) {
                long[] shape = inputs[i].shape().clone();
                shape[0] = -1;
                inputVars.put(names.get(i), sameDiff.placeHolder(names.get(i), dataType, shape));
                maskVars.put(names.get(i), sameDiff.placeHolder(names.get(i) + "_mask", dataType, -1, 1, 1, 1));
            }
            outputVar = config.defineVertex(sameDiff, inputVars, new LinkedHashMap<>(), maskVars);
            outputKey = outputVar.name();
            SameDiffWindowCore core = (SameDiffWindowCore) config;
            SDVariable eps = sameDiff.placeHolder(EPSILON, dataType, -1, core.channels(), core.height, core.width);
            sameDiff.setLossVariables(outputVar.mul(eps).sum().rename(LOSS));
            // M2.1 prints one "Added differentiated op" line per op to System.out while differentiating
            PrintStream out = System.out;
            System.setOut(new PrintStream(OutputStream.nullOutputStream()));
            try {
                sameDiff.createGradFunction(names.toArray(new String[0]));
            } finally {
                System.setOut(out);
            }
        }
    }

    @Override
    public Pair<Gradient, INDArray[]> doBackward(boolean tbptt, LayerWorkspaceMgr workspaceMgr) {
        if (sameDiff == null) {
            doInit();
        }
        List<String> names = config.getVertexParams().getInputs();
        SameDiff gradFn = sameDiff.getFunction("grad");
        InferenceSession session = gradFn.getSessions().computeIfAbsent(Thread.currentThread().getId(),
                id -> SameDiff.getInferenceFactory().create(gradFn));
        session.setMmgr(new DL4JSameDiffMemoryMgr(workspaceMgr.getWorkspaceName(ArrayType.BP_WORKING_MEM),
                workspaceMgr.getWorkspaceName(ArrayType.ACTIVATION_GRAD),
                workspaceMgr.getConfiguration(ArrayType.BP_WORKING_MEM),
                workspaceMgr.getConfiguration(ArrayType.ACTIVATION_GRAD)));

        Map<String, INDArray> placeholders = new HashMap<>();
        for (int i = 0; i < names.size(); i++) {
            placeholders.put(names.get(i), inputs[i]);
            placeholders.put(names.get(i) + "_mask", Nd4j.ones(dataType, inputs[i].size(0), 1, 1, 1));
        }
        placeholders.put(EPSILON, epsilon);
        Map<String, INDArray> grads = sameDiff.calculateGradients(placeholders, names);
        INDArray[] dLdIn = new INDArray[names.size()];
        for (int i = 0; i < names.size(); i++) {
            dLdIn[i] = workspaceMgr.leverageTo(ArrayType.ACTIVATION_GRAD, grads.get(names.get(i)));
        }
        sameDiff.clearPlaceholders(true);
        sameDiff.clearOpInputs();
        return new Pair<>(new DefaultGradient(), dLdIn);
    }
}
