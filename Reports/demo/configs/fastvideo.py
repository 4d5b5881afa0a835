# trajprobe → fastvideo: 2-step student from two-step rule (euler_jump arms), landing step 40
# study "demo", database sha256 15340d276ed157c272f0dbaeef930779d88f50d5ed9c16003714300b6c5bbc09, sync model facesync-cca 25 fps, 5-frame mouth windows, MFCC 13x20, vshift 15, pad, unit-length CCA embeddings, 2026-12-03
# merge under your run config's method: and pipeline: keys; the warp reads the student model's scheduler: set models.student.flow_shift to 5 as well (its default is 3)
config.method.dmd_denoising_steps = [1000, 200]  # 0..1000, warped as Self-Forcing's
config.method.warp_denoising_step = True
config.method.real_score_guidance_scale = 2.0  # uncond + (cond - uncond) w in fastvideo/train; the legacy --real_score_guidance_scale flag is g = w - 1
config.method.student_sample_type = "ode"  # read by the self_forcing method
config.pipeline.flow_shift = 5.0
# lacks: FastVideo has no sync window or guidance interval (min/max_timestep_ratio bound the score timestep, they do not gate CFG); trajprobe's sync window (t in [0.555, 0.660], teacher steps 36..40) cannot be expressed.
# lacks: FastVideo has no per-student-step teacher guidance (this schedule: t=0.999: w=1, t=0.555: w=2).
