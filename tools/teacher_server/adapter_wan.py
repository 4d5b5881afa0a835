"""Adapter skeleton: a diffusers / Wan2.1-style lip-sync video DiT behind the teacher server.

What trajprobe sends (see protocol.py) and what a flow-matching video teacher needs:

  trajprobe                           the model
  ---------                           ---------
  x_t   [B, C*T*h*w] (or [B, C,T,h,w]) latents of the noisy video, x_t = (1 - t) x0 + t eps
  t     [B] in (0, 1]                  the flow time sigma; Wan's timestep is sigma * 1000
                                       (num_train_timesteps), its scheduler's shift is already
                                       inside trajprobe's schedule, so pass t through unshifted
  branch [B]                           which conditioning each row gets:
      cond   = p(text, audio)          text embeddings + audio embeddings
      neg    = the negative branch     negative-prompt embeddings, audio dropped (drop mode
                                       audio-only) or text dropped too (text+audio)
      text   = p(text, no audio)       two-scale guidance: audio embeddings replaced by the null
      uncond = p(no text, no audio)    audio embedding and the empty-prompt embedding
  cond  [B, D]                         per-frame audio features (trajprobe's own); a real model
                                       usually wants wav2vec2 features of the audio file instead:
                                       declare `audio_path` and compute them once per clip
  reference [B, R] / reference_path    the mouth-masked reference frames (V2V): encode with the
                                       VAE once per clip and cache, as the analytic model does
  output velocity [B, ...]             flow matching predicts v = eps - x0 (trajprobe's
                                       convention: x0 = x_t - t v); an x0-predicting model
                                       declares the output "x0" instead

and the codec: `<name>-encode` (frames [B, H*W*3] in [0, 1] -> latents) and `<name>-decode`
(latents -> frames) wrap the VAE. The probe encodes each clip's reference once and decodes every
prediction it measures.

Parts marked NEEDS GPU AND WEIGHTS load the real pipeline; everything else is tensor plumbing
exercised by test_adapter.py on `TinyVideoDiT`, a random module with the same call signature
(runs on CPU, or on CUDA in half precision where present).

    .venv/bin/python tools/teacher_server/server.py --model adapter_wan:make_tiny_model --port 8000
    .venv/bin/python tools/teacher_server/server.py --model adapter_wan:make_wan_model --port 8000   # GPU
"""
import os

import numpy as np

try:
    import torch
    from torch import nn
except ImportError:  # the server and the analytic model work without torch
    torch = None
    nn = None


BRANCHES = ("cond", "neg", "text", "uncond")


class FlowVideoAdapter:
    """Maps protocol rows onto one batched call of a flow-matching video transformer per branch.

    transformer(latents [N, C, T, h, w], timestep [N], text [N, L, E], audio [N, F, A]) -> [N, C, T, h, w]
    is the call shape of Wan-style DiTs (diffusers' WanTransformer3DModel takes hidden_states,
    timestep, encoder_hidden_states; lip-sync variants add an audio context). Adapt `_call` to the
    model at hand; the grouping, dtype and layout handling around it stays.
    """

    def __init__(self, transformer, latent_shape, text_embeddings, audio_encoder, drop_mode="audio-only",
                 num_train_timesteps=1000, device="cpu", dtype=None, prediction="velocity"):
        self.transformer = transformer
        self.latent_shape = tuple(latent_shape)  # (C, T, h, w)
        self.text = text_embeddings              # {"prompt": [L, E], "negative": [L, E], "empty": [L, E]}
        self.audio_encoder = audio_encoder       # cond rows [N, D] -> [N, F, A]
        self.drop_mode = drop_mode
        self.num_train_timesteps = num_train_timesteps
        self.device = torch.device(device)
        self.dtype = dtype or torch.float32
        self.prediction = prediction

    def _conditioning(self, branch, cond):
        """(text, audio) embeddings of one branch for rows whose audio features are `cond`."""
        audio = self.audio_encoder(cond)
        null_audio = torch.zeros_like(audio)
        n = cond.shape[0]
        text = {k: v.to(self.device, self.dtype).unsqueeze(0).expand(n, -1, -1) for k, v in self.text.items()}
        if branch == "cond":
            return text["prompt"], audio
        if branch == "neg":
            return (text["negative"], null_audio) if self.drop_mode == "text+audio" else (text["prompt"], null_audio)
        if branch == "text":
            return text["prompt"], null_audio
        if branch == "uncond":
            return text["empty"], null_audio
        raise ValueError("unknown branch %r" % branch)

    def _call(self, latents, timestep, text, audio):
        return self.transformer(latents, timestep, text, audio)

    @torch.no_grad() if torch is not None else (lambda f: f)
    def predict(self, x_t, t, branch, cond, extras=None):
        """Protocol rows in, [B, *state] float32 out; one transformer call per branch present."""
        x_t = np.array(x_t, dtype=np.float32)  # a writable copy: request buffers are read-only
        batch = x_t.shape[0]
        latents = torch.from_numpy(x_t.reshape((batch,) + self.latent_shape)).to(self.device, self.dtype)
        timestep = torch.from_numpy(np.asarray(t, dtype=np.float64) * self.num_train_timesteps).to(self.device, torch.float32)
        cond_t = torch.from_numpy(np.array(cond, dtype=np.float32)).to(self.device, self.dtype)
        out = torch.empty_like(latents)
        branch = np.asarray(branch)
        for b in BRANCHES:
            rows = np.nonzero(branch == b)[0]
            if rows.size == 0:
                continue
            idx = torch.from_numpy(rows).to(self.device)
            text, audio = self._conditioning(b, cond_t[idx])
            out[idx] = self._call(latents[idx], timestep[idx], text, audio).to(self.dtype)
        return out.float().cpu().numpy().reshape(x_t.shape)


class TinyVAE(nn.Module if nn is not None else object):
    """Stand-in for the video VAE: 2x spatial pooling to C latent channels and back."""

    def __init__(self, channels=4):
        super().__init__()
        self.enc = nn.Conv2d(3, channels, 2, stride=2)
        self.dec = nn.ConvTranspose2d(channels, 3, 2, stride=2)

    def encode(self, frames):  # [N, H, W, 3] in [0, 1] -> [N, C, h, w]
        return self.enc(frames.permute(0, 3, 1, 2) * 2 - 1)

    def decode(self, latents):  # [N, C, h, w] -> [N, H, W, 3] in [0, 1]
        return ((self.dec(latents) + 1) / 2).permute(0, 2, 3, 1)


class TinyVideoDiT(nn.Module if nn is not None else object):
    """A random module with the DiT call signature: latents, timestep, text and audio context."""

    def __init__(self, channels=4, text_dim=8, audio_dim=6):
        super().__init__()
        self.conv = nn.Conv3d(channels, channels, 3, padding=1)
        self.time = nn.Linear(1, channels)
        self.text = nn.Linear(text_dim, channels)
        self.audio = nn.Linear(audio_dim, channels)

    def forward(self, latents, timestep, text, audio):
        h = self.conv(latents)
        h = h + self.time(timestep[:, None].to(latents.dtype) / 1000)[:, :, None, None, None]
        h = h + self.text(text.mean(dim=1))[:, :, None, None, None]
        h = h + self.audio(audio.mean(dim=1))[:, :, None, None, None]
        return torch.tanh(h)


def make_tiny_model(frame_side=None, frames=None, device=None):
    """A server Model over TinyVideoDiT + TinyVAE with fixed random weights (seed 0).

    One protocol row is one video frame here (T = 1), so the probe's per-frame rows map directly;
    a real teacher's row is a latent chunk of frames (see make_wan_model).
    """
    from server import Model

    if torch is None:
        raise RuntimeError("adapter_wan.make_tiny_model needs torch (tools/make_venv.sh --torch)")
    side = int(frame_side or os.environ.get("TRAJPROBE_TINY_SIDE", 32))
    device = device or ("cuda" if torch.cuda.is_available() else "cpu")
    dtype = torch.float16 if device == "cuda" else torch.float32
    torch.manual_seed(0)
    channels, feature_dim = 4, 3
    vae = TinyVAE(channels).to(device, dtype).eval()
    dit = TinyVideoDiT(channels).to(device, dtype).eval()
    proj = torch.nn.Linear(feature_dim, 6).to(device, dtype).eval()
    text = {k: torch.randn(5, 8) for k in ("prompt", "negative", "empty")}

    def audio_encoder(cond):  # [N, D] -> [N, F=1, A]
        return proj(cond)[:, None, :]

    latent = (channels, 1, side // 2, side // 2)
    adapter = FlowVideoAdapter(dit, latent, text, audio_encoder, device=device, dtype=dtype)

    @torch.no_grad()
    def encode(frames):
        x = torch.from_numpy(np.array(frames, dtype=np.float32).reshape(-1, side, side, 3)).to(device, dtype)
        return vae.encode(x).float().cpu().numpy().reshape(x.shape[0], -1)

    @torch.no_grad()
    def decode(states):
        z = torch.from_numpy(np.array(states, dtype=np.float32).reshape((-1, channels, side // 2, side // 2))).to(device, dtype)
        return vae.decode(z).float().cpu().numpy().reshape(z.shape[0], -1)

    return Model("tiny-wan", adapter.predict, "velocity", [int(np.prod(latent))], feature_dim,
                 branches=list(BRANCHES), encode=encode, decode=decode, frame_shape=[side, side, 3])


def make_wan_model():  # NEEDS GPU AND WEIGHTS
    """The real thing, for a Wan2.1-based lip-sync teacher. Fill in the paths and the audio model.

    1. Load the pipeline in bf16 on the GPU:
           from diffusers import AutoencoderKLWan, WanPipeline
           vae = AutoencoderKLWan.from_pretrained(MODEL_DIR, subfolder="vae", torch_dtype=torch.float32)
           pipe = WanPipeline.from_pretrained(MODEL_DIR, vae=vae, torch_dtype=torch.bfloat16).to("cuda")
    2. Text embeddings once: pipe.encode_prompt(prompt, negative_prompt) -> prompt / negative;
       the empty prompt's embedding is the unconditional text.
    3. Audio: a wav2vec2 encoder over the clip's audio file (declare the input `audio_path`);
       cache per path. The tiny model's `audio_encoder(cond)` marks where it plugs in.
    4. Latent layout: Wan's VAE maps 4k+1 frames of HxW to (16, k+1, H/8, W/8); a protocol row
       is one latent chunk, so set trajprobe's rows to chunks (the probe's clip = one chunk list).
    5. encode/decode: vae.encode(video).latent_dist.mode() normalised with the VAE's latents_mean
       and latents_std; decode inverts that. Both run in float32 on the GPU.
    6. Return Model(name, FlowVideoAdapter(pipe.transformer, ...).predict, "velocity", ...).
    """
    raise NotImplementedError("make_wan_model needs a GPU, the Wan2.1 weights and your audio encoder: "
                              "fill in the steps in its docstring (tools/teacher_server/adapter_wan.py)")
