use super::*;
use crate::config::haproxy::H2Tune;
use crate::http2::frame::put_settings;
use loona_hpack::Encoder;

const LIMITS: Limits = Limits {
    max_concurrent_streams: 2,
    max_header_list: 4_096,
    connect_protocol: true,
    header_table_size: 4_096,
    initial_window: 65_535,
    max_frame_size: 16_384,
};

/// A client's view: it encodes requests and reads what the server sent.
struct Client {
    encoder: Encoder<'static>,
    decoder: Decoder<'static>,
}

impl Client {
    fn new() -> Self {
        Self {
            encoder: Encoder::new(),
            decoder: Decoder::new(),
        }
    }

    fn headers(&mut self, stream: u32, fields: &[(&str, &str)], flags: u8) -> Vec<u8> {
        let pairs = fields.iter().map(|(n, v)| (n.as_bytes(), v.as_bytes()));
        let block = self.encoder.encode(pairs);
        frame(kind::HEADERS, flags | flag::END_HEADERS, stream, &block)
    }

    fn get(&mut self, stream: u32, end: bool) -> Vec<u8> {
        let fields = [(":method", "GET"), (":scheme", "http"), (":path", "/")];
        self.headers(stream, &fields, if end { flag::END_STREAM } else { 0 })
    }

    fn fields(&mut self, block: &[u8]) -> Vec<(String, String)> {
        let list = self.decoder.decode(block).expect("test input");
        let text = |b: Vec<u8>| String::from_utf8(b).expect("test input");
        list.into_iter().map(|(n, v)| (text(n), text(v))).collect()
    }
}

fn frame(kind: u8, flags: u8, stream: u32, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    put_header(&mut out, payload.len(), kind, flags, stream);
    out.extend_from_slice(payload);
    out
}

/// The frames written since the last call.
fn sent(conn: &mut Connection) -> Vec<(FrameHeader, Vec<u8>)> {
    let out = std::mem::take(conn.output());
    let mut frames = Vec::new();
    let mut at = 0;
    while let Some(h) = FrameHeader::parse(&out[at..]) {
        let end = at + HEADER_LEN + h.len as usize;
        frames.push((h, out[at + HEADER_LEN..end].to_vec()));
        at = end;
    }
    assert_eq!(at, out.len());
    frames
}

fn events(conn: &mut Connection) -> Vec<Event> {
    std::iter::from_fn(|| conn.next_event()).collect()
}

/// A connection past its preface and first SETTINGS, output drained.
fn open(settings: &[(u16, u32)]) -> Connection {
    let mut conn = Connection::server(LIMITS);
    let mut input = PREFACE.to_vec();
    put_settings(&mut input, settings);
    assert_eq!(conn.receive(&input), input.len());
    let frames = sent(&mut conn);
    assert_eq!(frames[0].0.kind, kind::SETTINGS);
    assert_eq!(frames[1].0, ack());
    conn
}

fn ack() -> FrameHeader {
    FrameHeader {
        len: 0,
        kind: kind::SETTINGS,
        flags: flag::ACK,
        stream: 0,
    }
}

/// The one frame written since the last call, a RST_STREAM: its stream
/// and code.
fn sole_reset(conn: &mut Connection) -> (u32, ErrorCode) {
    let frames = sent(conn);
    assert_eq!(frames.len(), 1, "one frame");
    let (h, payload) = &frames[0];
    assert_eq!(h.kind, kind::RST_STREAM);
    (h.stream, ErrorCode(u32_at(payload, 0)))
}

fn kinds(frames: &[(FrameHeader, Vec<u8>)]) -> Vec<(u8, u32)> {
    frames.iter().map(|(h, _)| (h.kind, h.stream)).collect()
}

#[test]
fn a_request_is_answered_with_a_head_and_data_that_end_the_stream() {
    let mut conn = open(&[]);
    let mut client = Client::new();
    let input = client.get(1, true);
    // Half a frame waits for the rest.
    assert_eq!(conn.receive(&input[..5]), 0);
    assert_eq!(conn.receive(&input), input.len());
    let Some(Event::Head {
        stream: 1,
        fields,
        end: true,
    }) = conn.next_event()
    else {
        panic!("no request");
    };
    assert_eq!(fields[0], (b":method".to_vec(), b"GET".to_vec()));
    let head: [(&[u8], &[u8]); 2] = [(b":status", b"200"), (b"content-length", b"5")];
    conn.send_head(1, head, false);
    assert_eq!(conn.send_data(1, b"hello", true), 5);
    assert!(conn.idle() && !conn.can_send(1));
    let frames = sent(&mut conn);
    assert_eq!(kinds(&frames), [(kind::HEADERS, 1), (kind::DATA, 1)]);
    assert!(frames[0].0.has(flag::END_HEADERS) && !frames[0].0.has(flag::END_STREAM));
    assert_eq!(
        client.fields(&frames[0].1)[0],
        (":status".into(), "200".into())
    );
    assert!(frames[1].0.has(flag::END_STREAM));
    assert_eq!(frames[1].1, b"hello");
    // Answered whole while the client still sends: it may stop.
    conn.receive(&client.get(3, false));
    conn.send_head(3, [(&b":status"[..], &b"200"[..])], true);
    sent(&mut conn);
    conn.done(3);
    assert_eq!(sole_reset(&mut conn), (3, ErrorCode::NO_ERROR));
}

#[test]
fn trailers_end_a_body_and_go_out_after_data() {
    let mut conn = open(&[]);
    let mut client = Client::new();
    let mut input = client.get(1, false);
    input.extend(frame(kind::DATA, 0, 1, b"ab"));
    input.extend(client.headers(1, &[("grpc-status", "0")], flag::END_STREAM));
    // Trailers holding a pseudo-header are malformed.
    input.extend(client.get(3, false));
    input.extend(client.headers(3, &[(":path", "/")], flag::END_STREAM));
    assert_eq!(conn.receive(&input), input.len());
    let got = events(&mut conn);
    assert!(matches!(
        &got[1],
        Event::Data {
            stream: 1,
            end: false,
            ..
        }
    ));
    let Event::Trailers { stream: 1, fields } = &got[2] else {
        panic!("no trailers: {got:?}");
    };
    assert_eq!(fields, &[(b"grpc-status".to_vec(), b"0".to_vec())]);
    assert_eq!(sole_reset(&mut conn), (3, ErrorCode::PROTOCOL_ERROR));
    conn.done(3);
    // Empty trailers end the body, as END_STREAM on DATA would.
    let mut input = client.get(5, false);
    input.extend(client.headers(5, &[], flag::END_STREAM));
    assert_eq!(conn.receive(&input), input.len());
    let got = events(&mut conn);
    assert!(matches!(&got[1], Event::Data { stream: 5, end: true, data } if data.is_empty()));
    // The answer's trailers: a HEADERS frame after DATA, ending it.
    conn.send_head(1, [(&b":status"[..], &b"200"[..])], false);
    assert_eq!(conn.send_data(1, b"hello", false), 5);
    conn.send_head(1, [(&b"grpc-status"[..], &b"0"[..])], true);
    let frames = sent(&mut conn);
    let headers = (kind::HEADERS, 1);
    assert_eq!(kinds(&frames), [headers, (kind::DATA, 1), headers]);
    assert!(frames[2].0.has(flag::END_STREAM) && !frames[1].0.has(flag::END_STREAM));
    assert_eq!(
        client.fields(&frames[2].1),
        [("grpc-status".into(), "0".into())]
    );
    assert!(!conn.can_send(1));
}

#[test]
fn body_bytes_are_credited_back_as_they_are_read_on_both_windows() {
    let mut conn = open(&[]);
    let mut client = Client::new();
    let mut input = client.get(5, false);
    input.extend(frame(kind::DATA, 0, 5, b"this must be delivered"));
    conn.receive(&input);
    let data = Event::Data {
        stream: 5,
        data: b"this must be delivered".to_vec(),
        end: false,
    };
    assert_eq!(events(&mut conn)[1], data);
    assert!(sent(&mut conn).is_empty());
    conn.consumed(5, 22);
    let frames = sent(&mut conn);
    assert_eq!(
        kinds(&frames),
        [(kind::WINDOW_UPDATE, 0), (kind::WINDOW_UPDATE, 5)]
    );
    assert_eq!(u32_at(&frames[1].1, 0), 22);
    // A body that ended is credited on its stream too while it is
    // answered, as haproxy 2.6 does (its h2_to_h1 reg-test waits for it).
    conn.receive(&frame(kind::DATA, flag::END_STREAM, 5, b"!"));
    events(&mut conn);
    conn.consumed(5, 1);
    let frames = sent(&mut conn);
    assert_eq!(
        kinds(&frames),
        [(kind::WINDOW_UPDATE, 0), (kind::WINDOW_UPDATE, 5)]
    );
}

#[test]
fn data_past_the_announced_length_resets_the_stream() {
    let mut conn = open(&[]);
    let mut client = Client::new();
    let fields = [
        (":method", "POST"),
        (":scheme", "http"),
        (":path", "/"),
        ("content-length", "2"),
    ];
    let mut input = client.headers(7, &fields, 0);
    input.extend(frame(kind::DATA, 0, 7, b"this is sent and ignored"));
    conn.receive(&input);
    let reset = Event::Reset {
        stream: 7,
        code: ErrorCode::PROTOCOL_ERROR,
    };
    assert_eq!(events(&mut conn)[1], reset);
    let frames = sent(&mut conn);
    assert_eq!(
        kinds(&frames),
        [(kind::WINDOW_UPDATE, 0), (kind::RST_STREAM, 7)]
    );
    assert!(!conn.failed());
    let counted = conn.counters();
    assert_eq!((counted.headers_rcvd, counted.data_rcvd), (1, 1));
    assert_eq!(
        (counted.strm_protocol_errors, counted.rst_stream_resp),
        (1, 1)
    );
    assert_eq!((counted.settings_rcvd, counted.goaway_resp), (1, 0));
}

#[test]
fn sending_keeps_to_the_windows_and_a_window_update_lets_more_go() {
    let mut conn = open(&[(setting::INITIAL_WINDOW_SIZE, 10)]);
    let mut client = Client::new();
    conn.receive(&client.get(1, true));
    conn.send_head(1, [(&b":status"[..], &b"200"[..])], false);
    assert_eq!(conn.send_data(1, &[b'x'; 100], true), 10);
    assert_eq!(conn.room(1), 0);
    assert_eq!(conn.send_data(1, &[b'x'; 90], true), 0);
    events(&mut conn);
    let mut update = Vec::new();
    put_window_update(&mut update, 1, 20);
    conn.receive(&update);
    assert_eq!(events(&mut conn), [Event::Room]);
    assert_eq!(conn.room(1), 20);
    // A smaller initial window takes the difference off open streams.
    let mut settings = Vec::new();
    put_settings(&mut settings, &[(setting::INITIAL_WINDOW_SIZE, 5)]);
    conn.receive(&settings);
    assert_eq!(conn.room(1), 15);
}

#[test]
fn streams_past_the_limit_are_refused_and_may_be_retried() {
    let mut conn = open(&[]);
    let mut client = Client::new();
    let mut input = client.get(1, false);
    input.extend(client.get(3, false));
    input.extend(client.get(5, false));
    conn.receive(&input);
    assert_eq!(sole_reset(&mut conn), (5, ErrorCode::REFUSED_STREAM));
    // A stream the client resets keeps its room while its request is
    // served (the "rapid reset" guard)...
    let mut reset = frame(kind::RST_STREAM, 0, 3, &ErrorCode::CANCEL.0.to_be_bytes());
    reset.extend(client.get(7, true));
    conn.receive(&reset);
    assert_eq!(sole_reset(&mut conn), (7, ErrorCode::REFUSED_STREAM));
    // ...until the serving side is done with it. The refused streams'
    // blocks still fed the decoder: later ones read.
    conn.done(3);
    conn.receive(&client.get(9, true));
    let last = events(&mut conn).pop();
    assert!(matches!(last, Some(Event::Head { stream: 9, .. })));
    // A client that keeps pushing past the room gets ENHANCE_YOUR_CALM.
    for n in 0..10 {
        conn.receive(&client.get(11 + 2 * n, true));
    }
    let frames = sent(&mut conn);
    let goaway = frames.iter().find(|(h, _)| h.kind == kind::GOAWAY);
    let (_, payload) = goaway.expect("a GOAWAY");
    assert_eq!(ErrorCode(u32_at(payload, 4)), ErrorCode::ENHANCE_YOUR_CALM);
    assert!(conn.going_away());
}

#[test]
fn pings_are_answered_and_settings_acknowledged() {
    let mut conn = open(&[]);
    conn.receive(&frame(kind::PING, 0, 0, b"12345678"));
    let frames = sent(&mut conn);
    assert_eq!(frames[0].0.flags, flag::ACK);
    assert_eq!(frames[0].1, b"12345678");
}

#[test]
fn connection_errors_end_with_the_goaway_their_code_names() {
    let goaway = |input: &[u8], settings: bool| {
        let mut conn = if settings {
            open(&[])
        } else {
            Connection::server(LIMITS)
        };
        sent(&mut conn);
        assert_eq!(conn.receive(input), input.len());
        assert!(conn.failed());
        assert_eq!(conn.counters().goaway_resp, 1);
        let frames = sent(&mut conn);
        let (h, payload) = frames.last().expect("test input").clone();
        assert_eq!(h.kind, kind::GOAWAY);
        ErrorCode(u32_at(&payload, 4))
    };
    assert_eq!(
        goaway(b"GET / HTTP/1.1\r\n\r\n", false),
        ErrorCode::PROTOCOL_ERROR
    );
    let mut ping_first = PREFACE.to_vec();
    ping_first.extend(frame(kind::PING, 0, 0, b"12345678"));
    assert_eq!(goaway(&ping_first, false), ErrorCode::PROTOCOL_ERROR);
    let idle_data = frame(kind::DATA, 0, 9, b"x");
    assert_eq!(goaway(&idle_data, true), ErrorCode::PROTOCOL_ERROR);
    let big = frame(kind::DATA, 0, 1, &[0; 16_385]);
    assert_eq!(goaway(&big, true), ErrorCode::FRAME_SIZE_ERROR);
    let even = frame(kind::HEADERS, flag::END_HEADERS, 2, &[0x82]);
    assert_eq!(goaway(&even, true), ErrorCode::PROTOCOL_ERROR);
    let garbage = frame(
        kind::HEADERS,
        flag::END_HEADERS,
        1,
        &[0xff, 0xff, 0xff, 0xff],
    );
    assert_eq!(goaway(&garbage, true), ErrorCode::COMPRESSION_ERROR);
    let mut flood = frame(kind::HEADERS, 0, 1, &[0x82]);
    for _ in 0..10 {
        flood.extend(frame(kind::CONTINUATION, 0, 1, &[0x40; 1_000]));
    }
    assert_eq!(goaway(&flood, true), ErrorCode::ENHANCE_YOUR_CALM);
    let zero = frame(kind::WINDOW_UPDATE, 0, 0, &[0; 4]);
    assert_eq!(goaway(&zero, true), ErrorCode::PROTOCOL_ERROR);
}

#[test]
fn a_long_head_goes_as_headers_then_continuation_and_table_changes_are_announced() {
    let mut conn = open(&[(setting::HEADER_TABLE_SIZE, 0)]);
    let mut client = Client::new();
    conn.receive(&client.get(1, true));
    let long = vec![b'v'; 20_000];
    let head: [(&[u8], &[u8]); 2] = [(b":status", b"200"), (b"x-long", &long)];
    conn.send_head(1, head, true);
    let frames = sent(&mut conn);
    assert_eq!(
        kinds(&frames),
        [(kind::HEADERS, 1), (kind::CONTINUATION, 1)]
    );
    assert!(frames[0].0.has(flag::END_STREAM) && frames[1].0.has(flag::END_HEADERS));
    // The block starts with the size update to 0.
    assert_eq!(frames[0].1[0], 0x20);
    let block = [frames[0].1.clone(), frames[1].1.clone()].concat();
    client.decoder.set_max_table_size(4_096);
    assert_eq!(client.fields(&block)[1].1.len(), 20_000);
}

/// A server's view: it decodes requests and encodes answers.
fn server_head(
    encoder: &mut Encoder<'static>,
    stream: u32,
    fields: &[(&str, &str)],
    end: bool,
) -> Vec<u8> {
    let block = encoder.encode(fields.iter().map(|(n, v)| (n.as_bytes(), v.as_bytes())));
    let flags = flag::END_HEADERS | if end { flag::END_STREAM } else { 0 };
    frame(kind::HEADERS, flags, stream, &block)
}

const GET: [(&[u8], &[u8]); 3] = [
    (b":method", b"GET"),
    (b":scheme", b"http"),
    (b":path", b"/"),
];

#[test]
fn a_client_opens_streams_within_the_servers_limit_and_reads_interim_and_final_heads() {
    let mut conn = Connection::client(LIMITS);
    assert!(conn.output().starts_with(PREFACE) && !conn.settled());
    sent_after_preface(&mut conn);
    let mut settings = Vec::new();
    put_settings(
        &mut settings,
        &[
            (setting::MAX_CONCURRENT_STREAMS, 1),
            (setting::ENABLE_CONNECT_PROTOCOL, 1),
        ],
    );
    conn.receive(&settings);
    assert!(conn.settled() && conn.connect_protocol());
    assert_eq!(sent(&mut conn)[0].0, ack());
    assert_eq!(conn.open(&GET, true, false), Some(1));
    assert_eq!(conn.open(&GET, true, false), None);
    let frames = sent(&mut conn);
    assert_eq!(kinds(&frames), [(kind::HEADERS, 1)]);
    assert_eq!(
        Client::new().fields(&frames[0].1)[0],
        (":method".into(), "GET".into())
    );
    let mut encoder = Encoder::new();
    let mut input = server_head(&mut encoder, 1, &[(":status", "103")], false);
    input.extend(server_head(
        &mut encoder,
        1,
        &[(":status", "200"), ("content-length", "2")],
        false,
    ));
    input.extend(frame(kind::DATA, flag::END_STREAM, 1, b"ok"));
    conn.receive(&input);
    let got = events(&mut conn);
    assert!(
        matches!(&got[0], Event::Head { stream: 1, end: false, fields } if fields[0].1 == b"103")
    );
    assert!(matches!(
        &got[1],
        Event::Head {
            stream: 1,
            end: false,
            ..
        }
    ));
    assert_eq!(
        got[2],
        Event::Data {
            stream: 1,
            data: b"ok".to_vec(),
            end: true
        }
    );
    // Its answer read, the stream ends once the request did: the next opens.
    assert_eq!(conn.open(&GET, false, true), Some(3));
}

#[test]
fn a_goaway_refuses_the_client_streams_past_its_last_and_stops_new_ones() {
    let mut conn = settled_client();
    conn.open(&GET, true, false);
    conn.open(&GET, true, false);
    let mut goaway = Vec::new();
    put_goaway(&mut goaway, 1, ErrorCode::NO_ERROR);
    conn.receive(&goaway);
    let refused = Event::Reset {
        stream: 3,
        code: ErrorCode::REFUSED_STREAM,
    };
    assert_eq!(events(&mut conn), [refused]);
    assert_eq!(conn.open(&GET, true, false), None);
    // A stream given up before its answer is cancelled.
    sent(&mut conn);
    conn.done(1);
    assert_eq!(sole_reset(&mut conn), (1, ErrorCode::CANCEL));
}

#[test]
fn a_client_may_give_up_a_stream_with_a_reset_alone_and_a_head_request_has_no_body() {
    let mut conn = settled_client();
    conn.refuse_next(ErrorCode::CANCEL);
    assert_eq!(sole_reset(&mut conn), (1, ErrorCode::CANCEL));
    assert_eq!(conn.open(&GET, true, true), Some(3));
    let mut encoder = Encoder::new();
    let head = [(":status", "200"), ("content-length", "10")];
    conn.receive(&server_head(&mut encoder, 3, &head, true));
    assert!(matches!(
        events(&mut conn)[..],
        [Event::Head {
            stream: 3,
            end: true,
            ..
        }]
    ));
    assert!(conn.idle());
}

/// A client's connection that read the server's (empty) SETTINGS, its
/// output drained.
fn settled_client() -> Connection {
    let mut conn = Connection::client(LIMITS);
    let mut settings = Vec::new();
    put_settings(&mut settings, &[]);
    conn.receive(&settings);
    sent_after_preface(&mut conn);
    conn
}

/// Drains the output of a client's connection, its preface first.
fn sent_after_preface(conn: &mut Connection) {
    if conn.output().starts_with(PREFACE) {
        conn.output().drain(..PREFACE.len());
    }
    sent(conn);
}

#[test]
fn settings_say_what_differs_from_the_defaults_in_haproxys_order() {
    let settings = |conn: &mut Connection| {
        let out = std::mem::take(conn.output());
        let out = out.strip_prefix(PREFACE).unwrap_or(&out).to_vec();
        let h = FrameHeader::parse(&out).expect("a frame");
        assert_eq!(h.kind, kind::SETTINGS);
        let payload = &out[HEADER_LEN..HEADER_LEN + h.len as usize];
        let pairs = payload.chunks(6);
        let pairs = pairs.map(|e| (u16::from_be_bytes([e[0], e[1]]), u32_at(e, 2)));
        pairs.collect::<Vec<_>>()
    };
    let haproxy = Limits::default();
    assert_eq!(
        settings(&mut Connection::server(haproxy)),
        [
            (setting::ENABLE_CONNECT_PROTOCOL, 1),
            (setting::MAX_CONCURRENT_STREAMS, 100)
        ]
    );
    assert_eq!(
        settings(&mut Connection::client(haproxy)),
        [
            (setting::ENABLE_PUSH, 0),
            (setting::ENABLE_CONNECT_PROTOCOL, 1),
            (setting::MAX_CONCURRENT_STREAMS, 100)
        ]
    );
    let tune = H2Tune {
        header_table_size: Some(8_192),
        initial_window_size: Some(1 << 20),
        max_concurrent_streams: Some(0),
        max_frame_size: Some(1 << 20),
    };
    // The frame size is bounded by the buffers.
    let tuned = Limits::haproxy(&tune, 32_768);
    assert_eq!(
        settings(&mut Connection::server(tuned)),
        [
            (setting::ENABLE_CONNECT_PROTOCOL, 1),
            (setting::HEADER_TABLE_SIZE, 8_192),
            (setting::INITIAL_WINDOW_SIZE, 1 << 20),
            (setting::MAX_FRAME_SIZE, 32_768)
        ]
    );
}

#[test]
fn a_larger_window_and_frame_size_are_taken_and_no_stream_limit_refuses_none() {
    let tune = H2Tune {
        initial_window_size: Some(100_000),
        max_concurrent_streams: Some(0),
        max_frame_size: Some(32_768),
        ..H2Tune::default()
    };
    let mut conn = Connection::server(Limits::haproxy(&tune, 32_768));
    let mut input = PREFACE.to_vec();
    put_settings(&mut input, &[]);
    conn.receive(&input);
    let mut client = Client::new();
    let mut input = Vec::new();
    for n in 0..5 {
        input.extend(client.get(2 * n + 1, false));
    }
    input.extend(frame(kind::DATA, 0, 1, &[7; 30_000]));
    input.extend(frame(kind::DATA, 0, 1, &[7; 30_000]));
    conn.receive(&input);
    assert!(!conn.failed());
    let got = events(&mut conn);
    assert_eq!(got.len(), 7);
    assert!(matches!(&got[6], Event::Data { stream: 1, data, .. } if data.len() == 30_000));
}
