# trajprobe → self-forcing: 3-step student from trajprobe search (3-step, student_schedule euler steps=0,28,30 g=2,2,1)
# study "demo", database sha256 15340d276ed157c272f0dbaeef930779d88f50d5ed9c16003714300b6c5bbc09, sync model facesync-cca 25 fps, 5-frame mouth windows, MFCC 13x20, vshift 15, pad, unit-length CCA embeddings, 2026-12-03
config.denoising_step_list = [1000, 440, 400]  # 0..1000, warped: t = s u / (1 + (s - 1) u) at u = k / 1000; no trailing 0 when warping
config.warp_denoising_step = True
config.timestep_shift = 5.0  # the critic's timestep shift (model/dmd.py)
config.model_kwargs.timestep_shift = 5.0  # the generator scheduler's shift, which the warp reads (its default is 8)
config.guidance_scale = 1.0  # cond + g (cond - uncond), g = w - 1 = 2 - 1 (model/dmd.py)
# lacks: Self-Forcing has no sync window or guidance interval: guidance_scale applies at every re-noise t; trajprobe's sync window (t in [0.555, 0.660], teacher steps 36..40) cannot be expressed.
# lacks: Self-Forcing has no per-student-step teacher guidance (this schedule: t=0.999: w=2, t=0.797: w=2, t=0.769: w=1).
# lacks: Self-Forcing's student re-noises between steps; this schedule was measured with the Euler jump.
