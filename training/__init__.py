"""WRPN & Apprentice training: quantizers, models, distillation, data, traces, footprint."""
