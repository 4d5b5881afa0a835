# trajprobe → causvid: 3-step student from trajprobe search (3-step, student_schedule euler steps=0,28,30 g=2,2,1)
# study "demo", database sha256 15340d276ed157c272f0dbaeef930779d88f50d5ed9c16003714300b6c5bbc09, sync model facesync-cca 25 fps, 5-frame mouth windows, MFCC 13x20, vshift 15, pad, unit-length CCA embeddings, 2026-12-03
config.denoising_step_list = [1000, 797, 769, 0]  # round(1000 t); the trailing 0 is asserted by causal inference
config.warp_denoising_step = False  # CausVid's generator scheduler shift is fixed at 8: the times are written already shifted
config.num_train_timestep = 1000
config.timestep_shift = 5.0  # the critic's timestep shift (causvid/dmd.py)
config.real_guidance_scale = 1.0  # cond + g (cond - uncond), g = w - 1 = 2 - 1 (causvid/dmd.py)
# lacks: CausVid has no sync window or guidance interval: real_guidance_scale applies at every re-noise t; trajprobe's sync window (t in [0.555, 0.660], teacher steps 36..40) cannot be expressed.
# lacks: CausVid has no per-student-step teacher guidance (this schedule: t=0.999: w=2, t=0.797: w=2, t=0.769: w=1).
# lacks: CausVid's student re-noises between steps; this schedule was measured with the Euler jump.
