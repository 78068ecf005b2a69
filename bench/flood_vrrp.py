import socket, sys, time
# VRRPv3 adverts for VRID 52 (no such instance on the master) to 224.0.0.18, TTL 255.
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, 112)
s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 255)
s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton("192.0.2.2"))
msg = bytes([0x31, 52, 100, 1, 0, 1, 0, 0]) + socket.inet_aton("192.0.2.60")
end = time.time() + float(sys.argv[1]); n = 0
while time.time() < end:
    for _ in range(1000):
        s.sendto(msg, ("224.0.0.18", 0)); n += 1
print(n, "sent")
