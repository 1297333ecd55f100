/*
 * loadgen: a WebSocket load generator for the ws6455 benchmark suite.
 *
 * One thread, one epoll loop, non-blocking sockets, 127.0.0.1 only. It is written in C so that the
 * client side costs far less CPU than any Node server it drives; it reports its own CPU use so every
 * result can show whether it had time to spare.
 *
 * Modes
 *   echo       C connections each keep N masked messages of S bytes in flight; every echoed message
 *              is answered with a new one. Counts echoed messages and payload bytes during a fixed
 *              window that starts after a warm-up.
 *   idle       opens C connections, completes the upgrade, prints a "ready" line, then holds them
 *              until stdin reaches EOF or --hold seconds pass (server memory per connection).
 *   handshake  C workers loop: connect, upgrade, send Close, await the server's Close, half-close,
 *              await EOF; counts completed cycles per second during the window.
 *
 * --spin polls epoll without sleeping. It is off by default: on the 2-vCPU VMs this was written on,
 * spinning sometimes helped (no halted vCPU to wake) and sometimes cost a lot (the host then
 * descheduled the spinning vCPU), and it would make the generator's CPU% useless as a headroom gauge.
 *
 * Output: JSON lines on stdout ({"event":"ready"|"measure-start"|"result",...}); diagnostics on stderr.
 * Build:  cc -O2 -o loadgen loadgen.c
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum mode { M_ECHO, M_IDLE, M_HANDSHAKE };
enum state { S_FREE, S_CONNECTING, S_REQUEST, S_RESPONSE, S_OPEN, S_AWAIT_CLOSE, S_AWAIT_EOF, S_DRAIN, S_DEAD };

/* Frame-parser state: the header is collected byte by byte (it may straddle reads); payload bytes are
 * only counted, never stored, because the generator needs sizes, not contents. */
struct parser {
  unsigned char hdr[14];
  int hlen;
  int hneed;
  uint64_t pay_left;
  uint64_t frame_len; /* payload length of the frame being read */
  uint64_t msg_bytes; /* payload bytes of the message so far (fragments add up) */
  int in_payload;
};

struct conn {
  int fd;
  enum state st;
  char resp[2048]; /* HTTP response head, until CRLFCRLF */
  size_t resp_len;
  size_t req_off;   /* bytes of the upgrade request (or close frame) already written */
  uint64_t to_send; /* whole frames still to write */
  size_t tx_pos;    /* offset inside the frame currently being written */
  int want_out;     /* EPOLLOUT currently registered */
  double eof_deadline; /* handshake mode: when to stop waiting for the server to close TCP first */
  int half_closed;
  struct parser p;
};

static struct {
  enum mode mode;
  const char *host;
  int port;
  int conns;
  int inflight;
  uint64_t size;
  double warmup, duration, hold, connect_timeout;
  int text;
  int max_connecting;
  int spin;
} opt = {M_ECHO, "127.0.0.1", 0, 1, 1, 16, 1.0, 3.0, 60.0, 10.0, 0, 256, 0};

static int ep;
static struct conn *cs;
static unsigned char *tx_buf; /* the pre-built masked frame, repeated so small frames go out in batches */
static size_t wire_len, tx_len; /* one frame on the wire (header + mask + payload); the repeated buffer */
static char request[512];
static size_t request_len;
static unsigned char close_frame[8];

static int measuring;
static uint64_t n_msgs, n_bytes, n_cycles, n_errors, n_mismatch, n_upgraded, n_server_close, n_client_fin_first;
static int connecting_now, open_now;
static char first_error[160];

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double cpu_seconds(double *user, double *sys) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  *user = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6;
  *sys = (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
  return *user + *sys;
}

/* xorshift: only needs to be cheap and not constant; nothing here is security-relevant. */
static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;
static uint64_t rnd(void) {
  rng_state ^= rng_state << 13;
  rng_state ^= rng_state >> 7;
  rng_state ^= rng_state << 17;
  return rng_state;
}

static void note_error(const char *what, int err) {
  n_errors++;
  if (!first_error[0]) snprintf(first_error, sizeof first_error, "%s: %s", what, err ? strerror(err) : "protocol");
}

static void set_events(struct conn *c, int idx, int out) {
  if (c->want_out == out) return;
  struct epoll_event ev = {.events = EPOLLIN | (out ? EPOLLOUT : 0), .data.u32 = (uint32_t)idx};
  epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
  c->want_out = out;
}

static void build_frames(void) {
  /* RFC 6455 §5.2: client frames are masked; the length uses 7, 7+16 or 7+64 bits. */
  size_t hl = 2 + (opt.size < 126 ? 0 : opt.size <= 0xffff ? 2 : 8) + 4;
  wire_len = hl + opt.size;
  size_t copies = 1;
  if (wire_len < 65536) copies = 65536 / wire_len;
  if (copies > (size_t)opt.inflight) copies = (size_t)opt.inflight;
  if (copies < 1) copies = 1;
  tx_len = wire_len * copies;
  tx_buf = malloc(tx_len);
  if (!tx_buf) { perror("malloc"); exit(2); }
  unsigned char *f = tx_buf;
  f[0] = 0x80 | (opt.text ? 0x1 : 0x2);
  size_t o = 2;
  if (opt.size < 126) {
    f[1] = 0x80 | (unsigned char)opt.size;
  } else if (opt.size <= 0xffff) {
    f[1] = 0x80 | 126;
    f[2] = (unsigned char)(opt.size >> 8);
    f[3] = (unsigned char)opt.size;
    o = 4;
  } else {
    f[1] = 0x80 | 127;
    for (int i = 0; i < 8; i++) f[2 + i] = (unsigned char)(opt.size >> (56 - 8 * i));
    o = 10;
  }
  uint32_t key = (uint32_t)rnd();
  memcpy(f + o, &key, 4);
  unsigned char *k = f + o;
  o += 4;
  for (uint64_t i = 0; i < opt.size; i++) {
    /* Text payloads are ASCII so they are valid UTF-8; binary payloads are arbitrary bytes. */
    unsigned char b = opt.text ? (unsigned char)('a' + i % 26) : (unsigned char)rnd();
    f[o + i] = b ^ k[i & 3];
  }
  for (size_t i = 1; i < copies; i++) memcpy(tx_buf + i * wire_len, tx_buf, wire_len);

  /* A masked Close frame with status 1000 for handshake mode. */
  unsigned char ck[4] = {0x12, 0x34, 0x56, 0x78};
  close_frame[0] = 0x88;
  close_frame[1] = 0x80 | 2;
  memcpy(close_frame + 2, ck, 4);
  close_frame[6] = 0x03 ^ ck[0];
  close_frame[7] = 0xe8 ^ ck[1];
}

static void build_request(void) {
  static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  char key[25];
  /* 16 random bytes in base64 is 22 characters plus "==" (RFC 6455 §4.1). Servers only hash it. */
  for (int i = 0; i < 21; i++) key[i] = b64[rnd() % 64];
  key[21] = b64[(rnd() % 4) * 16];
  key[22] = '=';
  key[23] = '=';
  key[24] = 0;
  request_len = (size_t)snprintf(request, sizeof request,
                                 "GET / HTTP/1.1\r\nHost: %s:%d\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                                 "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n\r\n",
                                 opt.host, opt.port, key);
}

static void conn_close(struct conn *c, int linger0) {
  if (c->fd >= 0) {
    if (linger0) {
      /* Abortive close: keeps thousands of client ports out of TIME_WAIT in handshake mode. */
      struct linger l = {1, 0};
      setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
    }
    epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
    close(c->fd);
  }
  if (c->st == S_CONNECTING || c->st == S_REQUEST || c->st == S_RESPONSE) connecting_now--;
  if (c->st == S_OPEN || c->st == S_AWAIT_CLOSE || c->st == S_AWAIT_EOF || c->st == S_DRAIN) open_now--;
  c->fd = -1;
  c->st = S_DEAD;
}

static int conn_start(int idx) {
  struct conn *c = &cs[idx];
  memset(c, 0, sizeof *c);
  c->fd = -1;
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  if (fd < 0) { note_error("socket", errno); c->st = S_DEAD; return -1; }
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)opt.port)};
  inet_pton(AF_INET, opt.host, &sa.sin_addr);
  c->fd = fd;
  c->st = S_CONNECTING;
  connecting_now++;
  if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0 && errno != EINPROGRESS) {
    note_error("connect", errno);
    conn_close(c, 1);
    return -1;
  }
  struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT, .data.u32 = (uint32_t)idx};
  c->want_out = 1;
  epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
  return 0;
}

/* Writes as much pending data as the socket takes; returns -1 if the connection died. */
static int flush_out(struct conn *c, int idx) {
  if (c->st == S_REQUEST || (c->st == S_AWAIT_CLOSE && c->req_off < sizeof close_frame)) {
    const char *src = c->st == S_REQUEST ? request : (const char *)close_frame;
    size_t len = c->st == S_REQUEST ? request_len : sizeof close_frame;
    while (c->req_off < len) {
      ssize_t n = send(c->fd, src + c->req_off, len - c->req_off, MSG_NOSIGNAL);
      if (n < 0) {
        if (errno == EAGAIN) { set_events(c, idx, 1); return 0; }
        note_error("send", errno);
        return -1;
      }
      c->req_off += (size_t)n;
    }
    if (c->st == S_REQUEST) c->st = S_RESPONSE;
    set_events(c, idx, 0);
    return 0;
  }
  if (c->st != S_OPEN || opt.mode != M_ECHO) { set_events(c, idx, 0); return 0; }
  while (c->to_send > 0) {
    /* tx_buf repeats the frame, so any offset inside the first copy starts a valid byte run. */
    uint64_t pending = c->to_send * wire_len - c->tx_pos;
    size_t len = tx_len - c->tx_pos;
    if (pending < len) len = (size_t)pending;
    ssize_t n = send(c->fd, tx_buf + c->tx_pos, len, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EAGAIN) { set_events(c, idx, 1); return 0; }
      note_error("send", errno);
      return -1;
    }
    size_t pos = c->tx_pos + (size_t)n;
    c->to_send -= pos / wire_len;
    c->tx_pos = pos % wire_len;
  }
  set_events(c, idx, 0);
  return 0;
}

static void on_open(struct conn *c) {
  c->st = S_OPEN;
  connecting_now--;
  open_now++;
  n_upgraded++;
  if (opt.mode == M_ECHO) c->to_send = (uint64_t)opt.inflight;
  if (opt.mode == M_HANDSHAKE) { c->st = S_AWAIT_CLOSE; c->req_off = 0; }
}

/* Called per complete frame. Returns -1 to drop the connection. */
static int on_frame(struct conn *c, unsigned op, int fin, uint64_t len) {
  if (op >= 8) {
    if (op != 8) return 0; /* ping/pong: the servers under test do not ping during a run */
    if (opt.mode == M_HANDSHAKE && c->st == S_AWAIT_CLOSE) {
      /* RFC 6455 §7.1.1: the server should close the TCP connection first, so wait for its FIN as a
       * browser does. That also keeps this side out of TIME_WAIT. */
      c->st = S_AWAIT_EOF;
      c->eof_deadline = now() + 1.0;
      return 0;
    }
    n_server_close++;
    if (!first_error[0]) snprintf(first_error, sizeof first_error, "server sent Close (%llu byte payload)", (unsigned long long)len);
    n_errors++;
    return -1;
  }
  c->p.msg_bytes += len;
  if (!fin) return 0;
  uint64_t got = c->p.msg_bytes;
  c->p.msg_bytes = 0;
  if (opt.mode != M_ECHO) return 0;
  if (got != opt.size) n_mismatch++;
  if (measuring) { n_msgs++; n_bytes += got; }
  c->to_send++;
  return 0;
}

/* Frame reader over a byte run; accepts masked and unmasked frames of any header size. */
static int parse_frames(struct conn *c, const unsigned char *b, size_t n) {
  struct parser *p = &c->p;
  while (n > 0) {
    if (p->in_payload) {
      uint64_t take = p->pay_left < n ? p->pay_left : n;
      p->pay_left -= take;
      b += take;
      n -= (size_t)take;
      if (p->pay_left == 0) {
        p->in_payload = 0;
        if (on_frame(c, p->hdr[0] & 0x0f, p->hdr[0] & 0x80, p->frame_len) < 0) return -1;
      }
      continue;
    }
    p->hdr[p->hlen++] = *b++;
    n--;
    if (p->hlen == 2) {
      unsigned l7 = p->hdr[1] & 0x7f;
      p->hneed = 2 + (l7 == 126 ? 2 : l7 == 127 ? 8 : 0) + ((p->hdr[1] & 0x80) ? 4 : 0);
    }
    if (p->hlen < 2 || p->hlen < p->hneed) continue;
    unsigned l7 = p->hdr[1] & 0x7f;
    uint64_t len = l7;
    if (l7 == 126) len = ((uint64_t)p->hdr[2] << 8) | p->hdr[3];
    if (l7 == 127) {
      len = 0;
      for (int i = 0; i < 8; i++) len = (len << 8) | p->hdr[2 + i];
    }
    p->hlen = 0;
    p->hneed = 0;
    p->frame_len = len;
    if (len == 0) {
      if (on_frame(c, p->hdr[0] & 0x0f, p->hdr[0] & 0x80, 0) < 0) return -1;
    } else {
      p->pay_left = len;
      p->in_payload = 1;
    }
  }
  return 0;
}

static int on_response(struct conn *c, const unsigned char *b, size_t n) {
  size_t room = sizeof c->resp - 1 - c->resp_len;
  size_t take = n < room ? n : room;
  memcpy(c->resp + c->resp_len, b, take);
  size_t before = c->resp_len;
  c->resp_len += take;
  c->resp[c->resp_len] = 0;
  char *end = strstr(c->resp, "\r\n\r\n");
  if (!end) {
    if (c->resp_len == sizeof c->resp - 1) { note_error("response head too long", 0); return -1; }
    return 0;
  }
  if (strncmp(c->resp, "HTTP/1.1 101", 12) != 0) {
    n_errors++;
    if (!first_error[0]) snprintf(first_error, sizeof first_error, "upgrade refused: %.60s", c->resp);
    return -1;
  }
  size_t head = (size_t)(end + 4 - c->resp);
  on_open(c);
  /* Bytes after the head are already frames. */
  size_t used = head - before;
  if (used < n) return parse_frames(c, b + used, n - used);
  return 0;
}

static unsigned char rbuf[1 << 18];

static void handle(int idx, uint32_t events) {
  struct conn *c = &cs[idx];
  if (c->st == S_DEAD || c->fd < 0) return;
  if (c->st == S_CONNECTING) {
    int err = 0;
    socklen_t el = sizeof err;
    getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &el);
    if (err) { note_error("connect", err); conn_close(c, 1); return; }
    if (!(events & EPOLLOUT)) return;
    c->st = S_REQUEST;
    c->req_off = 0;
  }
  if ((events & EPOLLOUT) || c->st == S_REQUEST) {
    if (flush_out(c, idx) < 0) { conn_close(c, 1); return; }
  }
  if (!(events & (EPOLLIN | EPOLLERR | EPOLLHUP))) return;
  for (int rounds = 0; rounds < 8; rounds++) {
    ssize_t n = recv(c->fd, rbuf, sizeof rbuf, 0);
    if (n < 0) {
      if (errno == EAGAIN) break;
      if (c->st != S_DRAIN) note_error("recv", errno);
      conn_close(c, 1);
      return;
    }
    if (n == 0) {
      if (c->st == S_AWAIT_EOF || c->st == S_DRAIN) {
        if (c->st == S_AWAIT_EOF && measuring) n_cycles++;
        conn_close(c, 0);
      } else {
        note_error("server closed the connection", 0);
        conn_close(c, 1);
      }
      return;
    }
    if (c->st == S_DRAIN) continue; /* shutting down: whatever still arrives is discarded */
    int rc = c->st == S_RESPONSE ? on_response(c, rbuf, (size_t)n) : parse_frames(c, rbuf, (size_t)n);
    if (rc < 0) { conn_close(c, 1); return; }
    if ((size_t)n < sizeof rbuf) break;
  }
  if (c->st == S_OPEN || c->st == S_AWAIT_CLOSE) {
    if (flush_out(c, idx) < 0) conn_close(c, 1);
  }
}

/* Ends the run politely: half-close every connection and read until the server closes too, so the
 * server sees an orderly EOF instead of a reset (a reset would show up as a server-side error). */
static void drain(double limit) {
  measuring = 0;
  for (int i = 0; i < opt.conns; i++) {
    struct conn *c = &cs[i];
    if (c->fd < 0 || c->st == S_DEAD || c->st == S_FREE) continue;
    /* Not connected yet: an ordinary close (a FIN if it got through, never a reset). */
    if (c->st == S_CONNECTING) { conn_close(c, 0); continue; }
    if (c->st == S_REQUEST) { connecting_now--; open_now++; }
    if (c->st == S_RESPONSE) { connecting_now--; open_now++; }
    c->to_send = 0;
    set_events(c, i, 0);
    if (!c->half_closed) shutdown(c->fd, SHUT_WR);
    c->half_closed = 1;
    c->st = S_DRAIN;
  }
  struct epoll_event evs[512];
  double deadline = now() + limit;
  while (open_now > 0 && now() < deadline) {
    int n = epoll_wait(ep, evs, 512, 20);
    for (int i = 0; i < n; i++) handle((int)evs[i].data.u32, evs[i].events);
  }
  for (int i = 0; i < opt.conns; i++)
    if (cs[i].fd >= 0) conn_close(&cs[i], 1);
}

static void usage(void) {
  fprintf(stderr,
          "usage: loadgen --port P [--host 127.0.0.1] [--mode echo|idle|handshake] [--conns C]\n"
          "               [--inflight N] [--size BYTES] [--warmup S] [--duration S] [--hold S] [--text]\n");
  exit(2);
}

static void parse_args(int argc, char **argv) {
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    const char *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (!strcmp(a, "--text")) { opt.text = 1; continue; }
    if (!strcmp(a, "--spin")) { opt.spin = 1; continue; }
    if (!v) usage();
    i++;
    if (!strcmp(a, "--port")) opt.port = atoi(v);
    else if (!strcmp(a, "--host")) opt.host = v;
    else if (!strcmp(a, "--conns")) opt.conns = atoi(v);
    else if (!strcmp(a, "--inflight")) opt.inflight = atoi(v);
    else if (!strcmp(a, "--size")) opt.size = strtoull(v, NULL, 10);
    else if (!strcmp(a, "--warmup")) opt.warmup = atof(v);
    else if (!strcmp(a, "--duration")) opt.duration = atof(v);
    else if (!strcmp(a, "--hold")) opt.hold = atof(v);
    else if (!strcmp(a, "--max-connecting")) opt.max_connecting = atoi(v);
    else if (!strcmp(a, "--mode")) {
      if (!strcmp(v, "echo")) opt.mode = M_ECHO;
      else if (!strcmp(v, "idle")) opt.mode = M_IDLE;
      else if (!strcmp(v, "handshake")) opt.mode = M_HANDSHAKE;
      else usage();
    } else usage();
  }
  /* This tool must only ever talk to the local machine. */
  if (strncmp(opt.host, "127.", 4) != 0) { fprintf(stderr, "loadgen: host must be in 127.0.0.0/8\n"); exit(2); }
  if (opt.port <= 0 || opt.conns < 1 || opt.inflight < 1 || opt.size > (1ULL << 30)) usage();
  if (opt.duration > 600 || opt.warmup > 600 || opt.hold > 3600) usage();
}

static void raise_fd_limit(void) {
  struct rlimit rl;
  getrlimit(RLIMIT_NOFILE, &rl);
  if (rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
    getrlimit(RLIMIT_NOFILE, &rl);
  }
  if (rl.rlim_cur < (rlim_t)opt.conns + 16) {
    fprintf(stderr, "loadgen: open-file limit %llu is too low for %d connections\n", (unsigned long long)rl.rlim_cur, opt.conns);
    exit(3);
  }
}

int main(int argc, char **argv) {
  signal(SIGPIPE, SIG_IGN);
  rng_state ^= (uint64_t)getpid() * 0x2545F4914F6CDD1DULL ^ (uint64_t)time(NULL);
  parse_args(argc, argv);
  raise_fd_limit();
  build_frames();
  build_request();
  ep = epoll_create1(0);
  cs = calloc((size_t)opt.conns, sizeof *cs);
  if (!cs) { perror("calloc"); return 2; }
  for (int i = 0; i < opt.conns; i++) { cs[i].fd = -1; cs[i].st = S_FREE; }

  struct epoll_event evs[512];
  double t_start = now();
  double t_measure = 0, t_end = 0;
  double cpu0 = 0, cpu_u0 = 0, cpu_s0 = 0;
  int next_to_open = 0;
  int ready_printed = 0;
  /* Every loop is bounded in time: connecting, the window, and holding all have deadlines. */
  double hard_deadline = t_start + opt.connect_timeout + opt.warmup + opt.duration + (opt.mode == M_IDLE ? opt.hold : 0) + 5;

  for (;;) {
    double t = now();
    if (t > hard_deadline) { fprintf(stderr, "loadgen: hard deadline reached\n"); break; }

    /* Open (or, in handshake mode, reopen) connections, never more than max_connecting at once so the
     * server's listen backlog is not overrun (a dropped SYN costs a 1 s retransmit). */
    if (opt.mode == M_HANDSHAKE) {
      for (int i = 0; i < opt.conns; i++) {
        struct conn *c = &cs[i];
        if (c->st == S_FREE || c->st == S_DEAD) conn_start(i);
        else if (c->st == S_AWAIT_EOF && !c->half_closed && t > c->eof_deadline) {
          /* The server kept TCP open for 1 s after its Close: end it from this side and say so. */
          shutdown(c->fd, SHUT_WR);
          c->half_closed = 1;
          n_client_fin_first++;
        }
      }
    } else {
      while (next_to_open < opt.conns && connecting_now < opt.max_connecting) conn_start(next_to_open++);
    }

    int all_open = next_to_open == opt.conns && connecting_now == 0;
    if (opt.mode != M_HANDSHAKE && !t_measure && !all_open && t - t_start > opt.connect_timeout) {
      fprintf(stderr, "loadgen: only %d of %d connections open after %.0f s\n", open_now, opt.conns, opt.connect_timeout);
      break;
    }
    if (opt.mode == M_IDLE && all_open && !ready_printed) {
      printf("{\"event\":\"ready\",\"connected\":%d,\"errors\":%llu}\n", open_now, (unsigned long long)n_errors);
      fflush(stdout);
      ready_printed = 1;
      t_end = t + opt.hold;
    }
    if (opt.mode == M_IDLE && ready_printed) {
      /* The runner closes stdin once it has measured the server. */
      struct pollfd pf = {.fd = 0, .events = POLLIN};
      if (poll(&pf, 1, 0) > 0) {
        char tmp[64];
        if (read(0, tmp, sizeof tmp) <= 0) break;
      }
      if (t > t_end) break;
    }
    if (opt.mode != M_IDLE && !t_measure && (all_open || opt.mode == M_HANDSHAKE) && t - t_start >= opt.warmup) {
      t_measure = t;
      t_end = t + opt.duration;
      cpu0 = cpu_seconds(&cpu_u0, &cpu_s0);
      measuring = 1;
      printf("{\"event\":\"measure-start\"}\n");
      fflush(stdout);
    }
    if (t_measure && t >= t_end) break;
    if (opt.mode != M_HANDSHAKE && open_now == 0 && connecting_now == 0 && next_to_open == opt.conns) {
      fprintf(stderr, "loadgen: every connection is gone\n");
      break;
    }

    int n = epoll_wait(ep, evs, 512, opt.spin && opt.mode != M_IDLE ? 0 : 20);
    for (int i = 0; i < n; i++) handle((int)evs[i].data.u32, evs[i].events);
  }

  double t_stop = now();
  double cu, csy;
  double cpu1 = cpu_seconds(&cu, &csy);
  double wall = t_measure ? t_stop - t_measure : 0;
  double cpu = t_measure ? cpu1 - cpu0 : cpu1;
  double cpu_wall = t_measure ? wall : t_stop - t_start;
  printf("{\"event\":\"result\",\"mode\":\"%s\",\"conns\":%d,\"inflight\":%d,\"size\":%llu,\"text\":%s,"
         "\"measured\":%s,\"seconds\":%.4f,\"messages\":%llu,\"bytes\":%llu,\"msgsPerSec\":%.1f,\"mibPerSec\":%.3f,"
         "\"handshakes\":%llu,\"handshakesPerSec\":%.1f,\"upgraded\":%llu,\"openAtEnd\":%d,"
         "\"cpuUser\":%.4f,\"cpuSys\":%.4f,\"cpuPct\":%.1f,\"errors\":%llu,\"sizeMismatch\":%llu,"
         "\"serverClose\":%llu,\"clientClosedFirst\":%llu,\"firstError\":\"",
         opt.mode == M_ECHO ? "echo" : opt.mode == M_IDLE ? "idle" : "handshake", opt.conns, opt.inflight,
         (unsigned long long)opt.size, opt.text ? "true" : "false", t_measure ? "true" : "false", wall,
         (unsigned long long)n_msgs, (unsigned long long)n_bytes, wall > 0 ? (double)n_msgs / wall : 0.0,
         wall > 0 ? (double)n_bytes / wall / 1048576.0 : 0.0, (unsigned long long)n_cycles,
         wall > 0 ? (double)n_cycles / wall : 0.0, (unsigned long long)n_upgraded, open_now,
         t_measure ? cu - cpu_u0 : cu, t_measure ? csy - cpu_s0 : csy, cpu_wall > 0 ? cpu / cpu_wall * 100.0 : 0.0,
         (unsigned long long)n_errors, (unsigned long long)n_mismatch, (unsigned long long)n_server_close,
         (unsigned long long)n_client_fin_first);
  /* first_error comes from strerror / fixed strings / the server's status line: escape for JSON. */
  for (const char *s = first_error; *s; s++) {
    if (*s == '"' || *s == '\\') putchar('\\');
    putchar((unsigned char)*s < 0x20 ? ' ' : *s);
  }
  printf("\"}\n");
  fflush(stdout);
  drain(opt.mode == M_IDLE ? 5.0 : 2.0);
  return 0;
}
