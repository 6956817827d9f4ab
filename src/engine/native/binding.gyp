{
  "variables": {
    "torch_include%": "/usr/include",
    "torch_lib%": "/usr/lib/x86_64-linux-gnu"
  },
  "targets": [
    {
      "target_name": "archsearch_torch",
      "sources": ["archsearch_torch.cc"],
      "include_dirs": [
        "<!(node -p \"require('node-addon-api').include_dir\")",
        "<(torch_include)",
        "<(torch_include)/torch/csrc/api/include"
      ],
      "libraries": ["-L<(torch_lib)", "-ltorch", "-ltorch_cpu", "-lc10", "-Wl,-rpath,<(torch_lib)"],
      "cflags!": ["-fno-exceptions"],
      "cflags_cc!": ["-fno-exceptions", "-fno-rtti", "-std=gnu++17"],
      "cflags_cc": ["-std=c++17", "-fexceptions", "-frtti", "-O2", "-Wno-unused-parameter", "-Wno-deprecated-declarations"],
      "defines": ["NAPI_CPP_EXCEPTIONS", "NAPI_VERSION=8"]
    }
  ]
}
