export { Module } from "./module.js";
export { Conv2d, BatchNorm2d, LayerNorm, Linear, Lambda, Sequential, ReLU, GlobalAvgPool, Dropout } from "./layers.js";
