/** The tensor engine: TypeScript over libtorch. Import from "archsearch/engine"; needs libtorch (see README). */
export * from "./tensor.js";
export * as F from "./functional.js";
export * from "./nn/index.js";
export * from "./optim.js";
export * from "./serialize.js";
export { engineAvailable } from "./native.js";
export { EngineError } from "./errors.js";
export { exportOnnx, saveOnnx, traceOnnx, type OnnxExportOptions } from "./onnx.js";
