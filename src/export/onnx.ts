/**
 * ONNX export by tracing now lives in the tensor engine (src/engine/onnx.ts, exported by
 * "archsearch/engine"), so that the engine depends on nothing outside src/engine; this module
 * keeps the older import path working.
 */
export * from "../engine/onnx.js";
