"""WitMotion WT901BLE (BLE 5.0) packet layout and units (doc §2.2, §2.4).

Data packet, 20 bytes: ``55 61``, then nine int16 LE: acceleration X/Y/Z (raw / 32768 x 16 g), angular
rate X/Y/Z (raw / 32768 x 2000 deg/s), angle roll/pitch/yaw (raw / 32768 x 180 deg). No checksum,
timestamp or counter. Register reply, 20 bytes: ``55 71 RegL RegH`` then 8 int16 LE registers.
"""

from __future__ import annotations

import numpy as np

PACKET_BYTES = 20
HEADER = 0x55
FLAG_DATA = 0x61
FLAG_REGISTER = 0x71

#: g per LSB (±16 g full scale, doc §2.2).
ACC_SCALE_G = 16.0 / 32768.0
#: deg/s per LSB (±2000 deg/s).
GYRO_SCALE_DPS = 2000.0 / 32768.0
#: deg per LSB (±180 deg).
ANGLE_SCALE_DEG = 180.0 / 32768.0
#: Scale of the nine values of a data packet, in packet order.
SCALES = np.array([ACC_SCALE_G] * 3 + [GYRO_SCALE_DPS] * 3 + [ANGLE_SCALE_DEG] * 3)
