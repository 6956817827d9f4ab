/** The ONNX schema now lives in the tensor engine (src/engine/onnx-schema.ts); this module keeps the older import path working. */
export * from "../engine/onnx-schema.js";
