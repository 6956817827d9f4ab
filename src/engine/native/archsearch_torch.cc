// archsearch's binding to libtorch: tensors, the ops NAS models need, autograd and optimisers.
// Kept deliberately thin: every function converts JS arguments, calls one libtorch function and
// wraps the result. Model code (modules, builders, training loops) lives in TypeScript.
#include <napi.h>
#include <torch/torch.h>

#include <c10/core/CPUAllocator.h>

#include <cstdlib>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

namespace {


// A caching CPU allocator: freed blocks are kept by size and handed out again. Training frees
// and re-allocates the same activation sizes every step; through glibc that cost either fresh
// mmap()s with page faults (3x slower than PyTorch here) or, once the heap served them,
// fragmentation that grew the process by a tensor per step, because small long-lived objects
// of the JS side land between the big blocks. Reusing blocks by size avoids both.
class CachingCpuAllocator final : public c10::Allocator {
 public:
  static constexpr size_t kHeader = 64;  // keeps the data 64-byte aligned; holds the block size

  explicit CachingCpuAllocator(size_t limitBytes) : limit_(limitBytes) {}

  static size_t RoundUp(size_t n) {
    if (n <= 4096) return (n + 63) & ~size_t(63);
    size_t step = size_t(1) << (63 - __builtin_clzll(n));  // highest power of two <= n
    step = std::max<size_t>(step / 8, 4096);               // size classes 1/8 apart
    return (n + step - 1) / step * step;
  }

  c10::DataPtr allocate(size_t n) const override {
    size_t size = RoundUp(std::max<size_t>(n, 1));
    void* base = nullptr;
    {
      std::lock_guard<std::mutex> lock(mu_);
      auto it = free_.find(size);
      if (it != free_.end() && !it->second.empty()) {
        base = it->second.back();
        it->second.pop_back();
        cached_ -= size;
      }
    }
    if (base == nullptr) {
      base = std::aligned_alloc(64, size + kHeader);
      if (base == nullptr) throw std::bad_alloc();
      *static_cast<size_t*>(base) = size;
    }
    // The context is the data pointer itself (c10's raw_allocate requires that); the block's size
    // sits in the header just before it.
    void* data = static_cast<char*>(base) + kHeader;
    return {data, data, &CachingCpuAllocator::Release, c10::Device(c10::DeviceType::CPU)};
  }

  c10::DeleterFnPtr raw_deleter() const override { return &CachingCpuAllocator::Release; }

  static void Release(void* data) {
    if (data == nullptr) return;
    instance_->Put(static_cast<char*>(data) - kHeader);
  }

  void Put(void* base) const {
    size_t size = *static_cast<size_t*>(base);
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (cached_ + size <= limit_) {
        free_[size].push_back(base);
        cached_ += size;
        return;
      }
    }
    std::free(base);
  }

  size_t Cached() const {
    std::lock_guard<std::mutex> lock(mu_);
    return cached_;
  }

  static CachingCpuAllocator* instance_;

 private:
  size_t limit_;
  mutable std::mutex mu_;
  mutable std::unordered_map<size_t, std::vector<void*>> free_;
  mutable size_t cached_ = 0;
};
CachingCpuAllocator* CachingCpuAllocator::instance_ = nullptr;

class TensorWrap : public Napi::ObjectWrap<TensorWrap> {
 public:
  static Napi::FunctionReference constructor;
  torch::Tensor tensor;
  int64_t reportedBytes = 0;

  static void Init(Napi::Env env, Napi::Object exports) {
    Napi::Function fn = DefineClass(env, "NativeTensor", {
      InstanceMethod("dispose", &TensorWrap::Dispose),
      InstanceMethod("isDisposed", &TensorWrap::IsDisposed),
    });
    constructor = Napi::Persistent(fn);
    constructor.SuppressDestruct();
    exports.Set("NativeTensor", fn);
  }

  explicit TensorWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<TensorWrap>(info) {}

  ~TensorWrap() override { Release(); }

  // Tells V8 how much native memory this object holds, so finalizers run under memory pressure.
  void Account(Napi::Env env) {
    if (!tensor.defined()) return;
    int64_t bytes = tensor.numel() * static_cast<int64_t>(tensor.element_size());
    if (bytes > 0) {
      Napi::MemoryManagement::AdjustExternalMemory(env, bytes);
      reportedBytes = bytes;
      env_ = env;
    }
  }

  void Release() {
    if (reportedBytes > 0 && env_ != nullptr) {
      Napi::MemoryManagement::AdjustExternalMemory(env_, -reportedBytes);
    }
    reportedBytes = 0;
    tensor = torch::Tensor();
  }

  Napi::Value Dispose(const Napi::CallbackInfo& info) {
    Release();
    return info.Env().Undefined();
  }

  Napi::Value IsDisposed(const Napi::CallbackInfo& info) {
    return Napi::Boolean::New(info.Env(), !tensor.defined());
  }

 private:
  napi_env env_ = nullptr;
};

Napi::FunctionReference TensorWrap::constructor;

Napi::Value Wrap(Napi::Env env, torch::Tensor t) {
  Napi::Object obj = TensorWrap::constructor.New({});
  TensorWrap* w = TensorWrap::Unwrap(obj);
  w->tensor = std::move(t);
  w->Account(env);
  return obj;
}

torch::Tensor& T(const Napi::Value& v, const char* what = "tensor") {
  if (!v.IsObject() || !v.As<Napi::Object>().InstanceOf(TensorWrap::constructor.Value())) {
    throw Napi::TypeError::New(v.Env(), std::string("expected a tensor for ") + what);
  }
  TensorWrap* w = TensorWrap::Unwrap(v.As<Napi::Object>());
  if (!w->tensor.defined()) throw Napi::Error::New(v.Env(), std::string("tensor used after dispose (") + what + ")");
  return w->tensor;
}

bool IsTensor(const Napi::Value& v) {
  return v.IsObject() && v.As<Napi::Object>().InstanceOf(TensorWrap::constructor.Value());
}

c10::optional<torch::Tensor> OptT(const Napi::Value& v) {
  if (v.IsUndefined() || v.IsNull()) return c10::nullopt;
  return T(v);
}

std::vector<int64_t> Ints(const Napi::Value& v) {
  std::vector<int64_t> out;
  if (v.IsNumber()) {
    out.push_back(v.As<Napi::Number>().Int64Value());
    return out;
  }
  Napi::Array a = v.As<Napi::Array>();
  for (uint32_t i = 0; i < a.Length(); i++) out.push_back(a.Get(i).As<Napi::Number>().Int64Value());
  return out;
}

double Num(const Napi::Value& v) { return v.As<Napi::Number>().DoubleValue(); }
int64_t Int(const Napi::Value& v) { return v.As<Napi::Number>().Int64Value(); }
bool Bool(const Napi::Value& v) { return v.ToBoolean().Value(); }

torch::Dtype Dtype(const std::string& s) {
  if (s == "float32") return torch::kFloat32;
  if (s == "float64") return torch::kFloat64;
  if (s == "int64") return torch::kInt64;
  if (s == "int32") return torch::kInt32;
  if (s == "bool") return torch::kBool;
  throw std::runtime_error("unknown dtype " + s);
}

std::string DtypeName(const torch::Tensor& t) {
  switch (t.scalar_type()) {
    case torch::kFloat32: return "float32";
    case torch::kFloat64: return "float64";
    case torch::kInt64: return "int64";
    case torch::kInt32: return "int32";
    case torch::kBool: return "bool";
    default: return std::string(c10::toString(t.scalar_type()));
  }
}

// Runs f, turning libtorch errors into JS errors with libtorch's first message line.
template <typename F>
Napi::Value Guard(const Napi::CallbackInfo& info, F f) {
  try {
    return f();
  } catch (const Napi::Error&) {
    throw;
  } catch (const c10::Error& e) {
    std::string msg = e.what_without_backtrace();
    throw Napi::Error::New(info.Env(), msg.substr(0, msg.find('\n')));
  } catch (const std::exception& e) {
    throw Napi::Error::New(info.Env(), e.what());
  }
}

#define FN(name) Napi::Value name(const Napi::CallbackInfo& info)
#define BODY(expr) return Guard(info, [&]() -> Napi::Value { expr; })
#define RET_T(expr) BODY(return Wrap(info.Env(), (expr)))

// ---- creation and data ----
FN(FromArray) {
  BODY({
    auto shape = Ints(info[1]);
    std::string dtype = info[2].As<Napi::String>().Utf8Value();
    Napi::TypedArray arr = info[0].As<Napi::TypedArray>();
    auto opts = torch::TensorOptions().dtype(Dtype(dtype));
    torch::Tensor t = torch::empty(shape, opts);
    size_t bytes = static_cast<size_t>(t.numel()) * t.element_size();
    if (arr.ByteLength() != bytes) throw std::runtime_error("data length does not match the shape");
    uint8_t* src = static_cast<uint8_t*>(arr.ArrayBuffer().Data()) + arr.ByteOffset();
    std::memcpy(t.data_ptr(), src, bytes);
    return Wrap(info.Env(), t);
  });
}

FN(ToArray) {
  BODY({
    torch::Tensor t = T(info[0]).detach().contiguous();
    size_t bytes = static_cast<size_t>(t.numel()) * t.element_size();
    Napi::ArrayBuffer buf = Napi::ArrayBuffer::New(info.Env(), bytes);
    if (bytes) std::memcpy(buf.Data(), t.data_ptr(), bytes);
    switch (t.scalar_type()) {
      case torch::kFloat32: return Napi::Float32Array::New(info.Env(), t.numel(), buf, 0);
      case torch::kFloat64: return Napi::Float64Array::New(info.Env(), t.numel(), buf, 0);
      case torch::kInt64: return Napi::BigInt64Array::New(info.Env(), t.numel(), buf, 0);
      case torch::kInt32: return Napi::Int32Array::New(info.Env(), t.numel(), buf, 0);
      case torch::kBool: return Napi::Uint8Array::New(info.Env(), t.numel(), buf, 0);
      default: throw std::runtime_error("unsupported dtype for toArray");
    }
  });
}

FN(Shape) {
  BODY({
    auto sizes = T(info[0]).sizes();
    Napi::Array a = Napi::Array::New(info.Env(), sizes.size());
    for (size_t i = 0; i < sizes.size(); i++) a.Set(i, Napi::Number::New(info.Env(), static_cast<double>(sizes[i])));
    return a;
  });
}
FN(DtypeOf) { BODY(return Napi::String::New(info.Env(), DtypeName(T(info[0])))); }
FN(Item) { BODY(return Napi::Number::New(info.Env(), T(info[0]).item<double>())); }

FN(Full) {
  BODY({
    auto opts = torch::TensorOptions().dtype(Dtype(info[2].As<Napi::String>().Utf8Value()));
    return Wrap(info.Env(), torch::full(Ints(info[0]), Num(info[1]), opts));
  });
}
FN(Randn) { RET_T(torch::randn(Ints(info[0]))); }
FN(Rand) { RET_T(torch::rand(Ints(info[0]))); }
FN(Randint) { RET_T(torch::randint(Int(info[0]), Int(info[1]), Ints(info[2]), torch::TensorOptions().dtype(torch::kInt64))); }
FN(Arange) { RET_T(torch::arange(Num(info[0]), Num(info[1]), Num(info[2]), torch::TensorOptions().dtype(Dtype(info[3].As<Napi::String>().Utf8Value())))); }
FN(Randperm) { RET_T(torch::randperm(Int(info[0]), torch::TensorOptions().dtype(torch::kInt64))); }

// ---- autograd ----
FN(SetRequiresGrad) { BODY({ T(info[0]).requires_grad_(Bool(info[1])); return info.Env().Undefined(); }); }
FN(RequiresGrad) { BODY(return Napi::Boolean::New(info.Env(), T(info[0]).requires_grad())); }
FN(Grad) {
  BODY({
    torch::Tensor g = T(info[0]).grad();
    if (!g.defined()) return info.Env().Null();
    return Wrap(info.Env(), g);
  });
}
FN(ZeroGrad) {
  BODY({
    torch::Tensor& t = T(info[0]);
    if (t.grad().defined()) t.mutable_grad() = torch::Tensor();
    return info.Env().Undefined();
  });
}
FN(Backward) {
  BODY({
    auto g = OptT(info[1]);
    if (g) T(info[0]).backward(*g);
    else T(info[0]).backward();
    return info.Env().Undefined();
  });
}
FN(SetGradEnabled) {
  BODY({
    bool prev = torch::GradMode::is_enabled();
    torch::GradMode::set_enabled(Bool(info[0]));
    return Napi::Boolean::New(info.Env(), prev);
  });
}
FN(Detach) { RET_T(T(info[0]).detach()); }
FN(Clone) { RET_T(T(info[0]).clone()); }
FN(CopyInto) { BODY({ torch::NoGradGuard ng; T(info[0]).copy_(T(info[1])); return info.Env().Undefined(); }); }

// ---- elementwise ----
FN(Unary) {
  BODY({
    std::string op = info[0].As<Napi::String>().Utf8Value();
    torch::Tensor& x = T(info[1]);
    torch::Tensor y;
    if (op == "relu") y = torch::relu(x);
    else if (op == "gelu") y = torch::gelu(x);
    else if (op == "sigmoid") y = torch::sigmoid(x);
    else if (op == "tanh") y = torch::tanh(x);
    else if (op == "exp") y = torch::exp(x);
    else if (op == "log") y = torch::log(x);
    else if (op == "neg") y = torch::neg(x);
    else if (op == "sqrt") y = torch::sqrt(x);
    else if (op == "abs") y = torch::abs(x);
    else if (op == "sign") y = torch::sign(x);
    else if (op == "square") y = torch::square(x);
    else throw std::runtime_error("unknown unary op " + op);
    return Wrap(info.Env(), y);
  });
}

FN(Binary) {
  BODY({
    std::string op = info[0].As<Napi::String>().Utf8Value();
    torch::Tensor& a = T(info[1]);
    torch::Tensor y;
    if (IsTensor(info[2])) {
      torch::Tensor& b = T(info[2]);
      if (op == "add") y = a + b;
      else if (op == "sub") y = a - b;
      else if (op == "mul") y = a * b;
      else if (op == "div") y = a / b;
      else if (op == "pow") y = torch::pow(a, b);
      else if (op == "maximum") y = torch::maximum(a, b);
      else if (op == "minimum") y = torch::minimum(a, b);
      else if (op == "eq") y = torch::eq(a, b);
      else if (op == "gt") y = torch::gt(a, b);
      else if (op == "lt") y = torch::lt(a, b);
      else throw std::runtime_error("unknown binary op " + op);
    } else {
      double b = Num(info[2]);
      if (op == "add") y = a + b;
      else if (op == "sub") y = a - b;
      else if (op == "mul") y = a * b;
      else if (op == "div") y = a / b;
      else if (op == "pow") y = torch::pow(a, b);
      else if (op == "maximum") y = torch::clamp_min(a, b);
      else if (op == "minimum") y = torch::clamp_max(a, b);
      else if (op == "eq") y = torch::eq(a, b);
      else if (op == "gt") y = torch::gt(a, b);
      else if (op == "lt") y = torch::lt(a, b);
      else throw std::runtime_error("unknown binary op " + op);
    }
    return Wrap(info.Env(), y);
  });
}

FN(Matmul) { RET_T(torch::matmul(T(info[0]), T(info[1]))); }
FN(Bmm) { RET_T(torch::bmm(T(info[0]), T(info[1]))); }
FN(Clamp) { RET_T(torch::clamp(T(info[0]), Num(info[1]), Num(info[2]))); }
FN(Where) { RET_T(torch::where(T(info[0]), T(info[1]), T(info[2]))); }
FN(Cast) { RET_T(T(info[0]).to(Dtype(info[1].As<Napi::String>().Utf8Value()))); }

// ---- reductions: op, x, dims ([] = all), keepdim ----
FN(Reduce) {
  BODY({
    std::string op = info[0].As<Napi::String>().Utf8Value();
    torch::Tensor& x = T(info[1]);
    auto dims = Ints(info[2]);
    bool keep = Bool(info[3]);
    if (op == "sum") return Wrap(info.Env(), dims.empty() ? x.sum() : x.sum(dims, keep));
    if (op == "mean") return Wrap(info.Env(), dims.empty() ? x.mean() : x.mean(dims, keep));
    if (op == "max") return Wrap(info.Env(), dims.empty() ? x.max() : std::get<0>(x.max(dims[0], keep)));
    if (op == "min") return Wrap(info.Env(), dims.empty() ? x.min() : std::get<0>(x.min(dims[0], keep)));
    if (op == "argmax") return Wrap(info.Env(), dims.empty() ? x.argmax() : x.argmax(dims[0], keep));
    if (op == "var") return Wrap(info.Env(), dims.empty() ? x.var() : x.var(dims, /*unbiased=*/true, keep));
    if (op == "logsumexp") return Wrap(info.Env(), torch::logsumexp(x, dims, keep));
    throw std::runtime_error("unknown reduction " + op);
  });
}

// ---- shapes ----
FN(Reshape) { RET_T(T(info[0]).reshape(Ints(info[1]))); }
FN(Permute) { RET_T(T(info[0]).permute(Ints(info[1]))); }
FN(Transpose) { RET_T(T(info[0]).transpose(Int(info[1]), Int(info[2]))); }
FN(Contiguous) { RET_T(T(info[0]).contiguous()); }
FN(Unsqueeze) { RET_T(T(info[0]).unsqueeze(Int(info[1]))); }
FN(Squeeze) { RET_T(T(info[0]).squeeze(Int(info[1]))); }
FN(Flatten) { RET_T(torch::flatten(T(info[0]), Int(info[1]), Int(info[2]))); }
FN(Expand) { RET_T(T(info[0]).expand(Ints(info[1]))); }
FN(Slice) { RET_T(T(info[0]).slice(Int(info[1]), Int(info[2]), Int(info[3]), Int(info[4]))); }
FN(Cat) {
  BODY({
    Napi::Array a = info[0].As<Napi::Array>();
    std::vector<torch::Tensor> ts;
    for (uint32_t i = 0; i < a.Length(); i++) ts.push_back(T(a.Get(i)));
    return Wrap(info.Env(), torch::cat(ts, Int(info[1])));
  });
}
FN(Stack) {
  BODY({
    Napi::Array a = info[0].As<Napi::Array>();
    std::vector<torch::Tensor> ts;
    for (uint32_t i = 0; i < a.Length(); i++) ts.push_back(T(a.Get(i)));
    return Wrap(info.Env(), torch::stack(ts, Int(info[1])));
  });
}
FN(IndexSelect) { RET_T(torch::index_select(T(info[0]), Int(info[1]), T(info[2]))); }
FN(ScatterAdd) { RET_T(torch::scatter_add(T(info[0]), Int(info[1]), T(info[2]), T(info[3]))); }
FN(IndexAdd) { RET_T(torch::index_add(T(info[0]), Int(info[1]), T(info[2]), T(info[3]))); }
FN(Gather) { RET_T(torch::gather(T(info[0]), Int(info[1]), T(info[2]))); }

// ---- neural network functions ----
FN(Conv2d) {
  // x, weight, bias|null, stride[2], padding[2], dilation[2], groups
  RET_T(torch::conv2d(T(info[0]), T(info[1]), OptT(info[2]), Ints(info[3]), Ints(info[4]), Ints(info[5]), Int(info[6])));
}
FN(BatchNorm) {
  // x, weight|null, bias|null, runningMean|null, runningVar|null, training, momentum, eps
  RET_T(torch::batch_norm(T(info[0]), OptT(info[1]), OptT(info[2]), OptT(info[3]), OptT(info[4]), Bool(info[5]), Num(info[6]), Num(info[7]), true));
}
FN(LayerNorm) { RET_T(torch::layer_norm(T(info[0]), Ints(info[1]), OptT(info[2]), OptT(info[3]), Num(info[4]))); }
FN(MaxPool2d) { RET_T(torch::max_pool2d(T(info[0]), Ints(info[1]), Ints(info[2]), Ints(info[3]))); }
FN(AvgPool2d) {
  // x, kernel, stride, padding, countIncludePad
  RET_T(torch::avg_pool2d(T(info[0]), Ints(info[1]), Ints(info[2]), Ints(info[3]), false, Bool(info[4])));
}
FN(AdaptiveAvgPool2d) { RET_T(torch::adaptive_avg_pool2d(T(info[0]), Ints(info[1]))); }
FN(Linear) { RET_T(torch::linear(T(info[0]), T(info[1]), OptT(info[2]))); }
FN(Dropout) { RET_T(torch::dropout(T(info[0]), Num(info[1]), Bool(info[2]))); }
FN(Embedding) { RET_T(torch::embedding(T(info[0]), T(info[1]))); }
FN(Softmax) { RET_T(torch::softmax(T(info[0]), Int(info[1]))); }
FN(LogSoftmax) { RET_T(torch::log_softmax(T(info[0]), Int(info[1]))); }
FN(CrossEntropy) {
  // logits [N, C], targets int64 [N], labelSmoothing
  RET_T(torch::nn::functional::cross_entropy(T(info[0]), T(info[1]),
        torch::nn::functional::CrossEntropyFuncOptions().label_smoothing(Num(info[2]))));
}
FN(MseLoss) { RET_T(torch::mse_loss(T(info[0]), T(info[1]))); }

// ---- optimisers: handles own a torch::optim object over the given parameter tensors ----
class OptimWrap : public Napi::ObjectWrap<OptimWrap> {
 public:
  static Napi::FunctionReference constructor;
  std::unique_ptr<torch::optim::Optimizer> opt;
  std::string kind;

  static void Init(Napi::Env env, Napi::Object exports) {
    Napi::Function fn = DefineClass(env, "NativeOptimizer", {
      InstanceMethod("step", &OptimWrap::Step),
      InstanceMethod("zeroGrad", &OptimWrap::ZeroGradAll),
      InstanceMethod("setLr", &OptimWrap::SetLr),
      InstanceMethod("dispose", &OptimWrap::Dispose),
    });
    constructor = Napi::Persistent(fn);
    constructor.SuppressDestruct();
    exports.Set("NativeOptimizer", fn);
  }

  // new NativeOptimizer(kind, params[], options{lr, momentum, dampening, weightDecay, nesterov, beta1, beta2, eps})
  explicit OptimWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<OptimWrap>(info) {
    Guard(info, [&]() -> Napi::Value {
      kind = info[0].As<Napi::String>().Utf8Value();
      Napi::Array a = info[1].As<Napi::Array>();
      std::vector<torch::Tensor> params;
      for (uint32_t i = 0; i < a.Length(); i++) params.push_back(T(a.Get(i)));
      Napi::Object o = info[2].As<Napi::Object>();
      auto num = [&](const char* k, double d) { return o.Has(k) ? o.Get(k).As<Napi::Number>().DoubleValue() : d; };
      if (kind == "sgd") {
        opt = std::make_unique<torch::optim::SGD>(params, torch::optim::SGDOptions(num("lr", 0.01))
                                                               .momentum(num("momentum", 0))
                                                               .dampening(num("dampening", 0))
                                                               .weight_decay(num("weightDecay", 0))
                                                               .nesterov(o.Has("nesterov") && o.Get("nesterov").ToBoolean().Value()));
      } else if (kind == "adam" || kind == "adamw") {
        auto betas = std::make_tuple(num("beta1", 0.9), num("beta2", 0.999));
        if (kind == "adam") {
          opt = std::make_unique<torch::optim::Adam>(params, torch::optim::AdamOptions(num("lr", 1e-3)).betas(betas).eps(num("eps", 1e-8)).weight_decay(num("weightDecay", 0)));
        } else {
          opt = std::make_unique<torch::optim::AdamW>(params, torch::optim::AdamWOptions(num("lr", 1e-3)).betas(betas).eps(num("eps", 1e-8)).weight_decay(num("weightDecay", 0.01)));
        }
      } else {
        throw std::runtime_error("unknown optimiser " + kind);
      }
      return info.Env().Undefined();
    });
  }

  torch::optim::Optimizer& Live() {
    if (!opt) throw std::runtime_error("this optimiser was disposed");
    return *opt;
  }
  Napi::Value Step(const Napi::CallbackInfo& info) {
    return Guard(info, [&]() -> Napi::Value { Live().step(); return info.Env().Undefined(); });
  }
  Napi::Value ZeroGradAll(const Napi::CallbackInfo& info) {
    return Guard(info, [&]() -> Napi::Value { Live().zero_grad(); return info.Env().Undefined(); });
  }
  // Frees the optimiser's state (momentum / Adam moments) and its references to the parameters now.
  Napi::Value Dispose(const Napi::CallbackInfo& info) {
    return Guard(info, [&]() -> Napi::Value { opt.reset(); return info.Env().Undefined(); });
  }
  Napi::Value SetLr(const Napi::CallbackInfo& info) {
    return Guard(info, [&]() -> Napi::Value {
      Live();
      double lr = Num(info[0]);
      for (auto& g : opt->param_groups()) g.options().set_lr(lr);
      return info.Env().Undefined();
    });
  }
};
Napi::FunctionReference OptimWrap::constructor;

// ---- global state ----
FN(ManualSeed) { BODY({ torch::manual_seed(static_cast<uint64_t>(Int(info[0]))); return info.Env().Undefined(); }); }
FN(SetNumThreads) { BODY({ torch::set_num_threads(static_cast<int>(Int(info[0]))); return info.Env().Undefined(); }); }
FN(GetNumThreads) { BODY(return Napi::Number::New(info.Env(), torch::get_num_threads())); }
// Reference counts of a tensor's implementation and storage (for leak tests).
FN(UseCount) {
  BODY({
    torch::Tensor& t = T(info[0]);
    Napi::Array a = Napi::Array::New(info.Env(), 2);
    a.Set(0u, Napi::Number::New(info.Env(), static_cast<double>(t.use_count())));
    a.Set(1u, Napi::Number::New(info.Env(), static_cast<double>(t.storage().use_count())));
    return a;
  });
}
FN(CachedBytes) { BODY(return Napi::Number::New(info.Env(), static_cast<double>(CachingCpuAllocator::instance_->Cached()))); }
FN(Version) { BODY(return Napi::String::New(info.Env(), TORCH_VERSION)); }

Napi::Object InitAll(Napi::Env env, Napi::Object exports) {
  // ARCHSEARCH_CPU_CACHE_MB bounds the memory kept for reuse (default 1024); 0 turns the cache off.
  if (CachingCpuAllocator::instance_ == nullptr) {
    const char* env = std::getenv("ARCHSEARCH_CPU_CACHE_MB");
    size_t mb = env ? static_cast<size_t>(std::strtoull(env, nullptr, 10)) : 1024;
    CachingCpuAllocator::instance_ = new CachingCpuAllocator(mb << 20);
    c10::SetCPUAllocator(CachingCpuAllocator::instance_, /*priority=*/10);
  }
  at::init_num_threads();
  TensorWrap::Init(env, exports);
  OptimWrap::Init(env, exports);
#define EXPORT(name) exports.Set(#name, Napi::Function::New(env, name))
  EXPORT(FromArray); EXPORT(ToArray); EXPORT(Shape); EXPORT(DtypeOf); EXPORT(Item);
  EXPORT(Full); EXPORT(Randn); EXPORT(Rand); EXPORT(Randint); EXPORT(Arange); EXPORT(Randperm);
  EXPORT(SetRequiresGrad); EXPORT(RequiresGrad); EXPORT(Grad); EXPORT(ZeroGrad); EXPORT(Backward);
  EXPORT(SetGradEnabled); EXPORT(Detach); EXPORT(Clone); EXPORT(CopyInto);
  EXPORT(Unary); EXPORT(Binary); EXPORT(Matmul); EXPORT(Bmm); EXPORT(Clamp); EXPORT(Where); EXPORT(Cast);
  EXPORT(Reduce);
  EXPORT(Reshape); EXPORT(Permute); EXPORT(Transpose); EXPORT(Contiguous); EXPORT(Unsqueeze); EXPORT(Squeeze);
  EXPORT(Flatten); EXPORT(Expand); EXPORT(Slice); EXPORT(Cat); EXPORT(Stack);
  EXPORT(IndexSelect); EXPORT(ScatterAdd); EXPORT(IndexAdd); EXPORT(Gather);
  EXPORT(Conv2d); EXPORT(BatchNorm); EXPORT(LayerNorm); EXPORT(MaxPool2d); EXPORT(AvgPool2d); EXPORT(AdaptiveAvgPool2d);
  EXPORT(Linear); EXPORT(Dropout); EXPORT(Embedding); EXPORT(Softmax); EXPORT(LogSoftmax); EXPORT(CrossEntropy); EXPORT(MseLoss);
  EXPORT(ManualSeed); EXPORT(SetNumThreads); EXPORT(GetNumThreads); EXPORT(Version); EXPORT(UseCount); EXPORT(CachedBytes);
#undef EXPORT
  return exports;
}

}  // namespace

NODE_API_MODULE(archsearch_torch, InitAll)
