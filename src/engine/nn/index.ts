export { Module } from "./module.js";
export { Conv2d, BatchNorm2d, LayerNorm, Linear, Lambda, Sequential, ReLU, GlobalAvgPool, Dropout, Embedding } from "./layers.js";
export { MultiHeadSelfAttention, TransformerEncoderLayer, type TransformerEncoderLayerOptions } from "./attention.js";
export { Graph, GCNConv, GINConv, aggregateSum } from "./graph.js";
