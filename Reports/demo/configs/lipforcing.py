# trajprobe → lipforcing: 2-step student from two-step rule (euler_jump arms), landing step 40
# study "demo", database sha256 15340d276ed157c272f0dbaeef930779d88f50d5ed9c16003714300b6c5bbc09, sync model facesync-cca 25 fps, 5-frame mouth windows, MFCC 13x20, vshift 15, pad, unit-length CCA embeddings, 2026-12-03
config.model.guidance_scale = 2.0  # neg + w (cond - neg): x0 + (w - 1)(x0 - x0_neg), methods/distribution_matching/dmd2.py
# sync_window_cfg: CFG only when the DMD re-noise t is inside [t_lo, t_hi]
config.model.sync_window_cfg.enabled = True
config.model.sync_window_cfg.t_lo = 0.555
config.model.sync_window_cfg.t_hi = 0.66
config.model.sync_window_cfg.reverse = False
config.model.student_sample_steps = 2
config.model.student_sample_type = "ode"  # Euler jump between steps (eps from x0 and x_t)
config.model.sample_t_cfg.time_dist_type = "shifted"
config.model.sample_t_cfg.shift = 5.0
config.model.sample_t_cfg.min_t = 0.0
config.model.sample_t_cfg.max_t = 0.999
config.model.sample_t_cfg.t_list = [0.999, 0.555, 0.0]  # len = student_sample_steps + 1
# lacks: Lip Forcing has no per-student-step teacher guidance (this schedule: t=0.999: w=1, t=0.555: w=2): its student samples without CFG and the teacher's guidance is gated by the re-noise t instead.
