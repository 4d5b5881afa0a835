/// Activations of a batch of images in channel-major layout `C x N x H x W` (channel outermost).
///
/// Channel-major rather than PyTorch's `N x C x H x W` because an im2col convolution over the
/// whole batch is then one sgemm, `W[Cout x K] * col[K x (N*H*W)]`, whose result is already the
/// next layer's input: no transposes between layers.
struct FeatureMap: Sendable {
    var channels: Int
    var batch: Int
    var height: Int
    var width: Int
    var data: [Float]

    init(channels: Int, batch: Int, height: Int, width: Int, data: [Float]) {
        precondition(data.count == channels * batch * height * width, "FeatureMap: \(data.count) values")
        self.channels = channels
        self.batch = batch
        self.height = height
        self.width = width
        self.data = data
    }

    init(channels: Int, batch: Int, height: Int, width: Int) {
        self.init(channels: channels, batch: batch, height: height, width: width,
                  data: [Float](repeating: 0, count: channels * batch * height * width))
    }

    /// Storage the caller overwrites entirely (a convolution's bias fill, a pool's every output):
    /// skips zeroing tens of megabytes per layer.
    init(channels: Int, batch: Int, height: Int, width: Int, uninitialized: Void) {
        let count = channels * batch * height * width
        self.init(channels: channels, batch: batch, height: height, width: width,
                  data: [Float](unsafeUninitializedCapacity: count) { _, filled in filled = count })
    }

    var plane: Int { height * width }
}
