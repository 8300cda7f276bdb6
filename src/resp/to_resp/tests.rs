use super::*;
use crate::resp::Protocol;

/// Encodes `v` for both protocols; returns (RESP2, RESP3).
fn enc<T: ToResp + ?Sized>(v: &T) -> (Vec<u8>, Vec<u8>) {
    let mut w2 = Writer::with_protocol(Protocol::Resp2);
    let mut w3 = Writer::with_protocol(Protocol::Resp3);
    w2.write_any(v);
    w3.write_any(v);
    (w2.take(), w3.take())
}

#[track_caller]
fn check<T: ToResp + ?Sized>(v: &T, resp2: &[u8], resp3: &[u8]) {
    let (got2, got3) = enc(v);
    assert_eq!(
        String::from_utf8_lossy(&got2),
        String::from_utf8_lossy(resp2),
        "RESP2"
    );
    assert_eq!(
        String::from_utf8_lossy(&got3),
        String::from_utf8_lossy(resp3),
        "RESP3"
    );
}

#[track_caller]
fn same<T: ToResp + ?Sized>(v: &T, both: &[u8]) {
    check(v, both, both);
}

#[test]
fn integers() {
    same(&0i8, b":0\r\n");
    same(&-128i8, b":-128\r\n");
    same(&i16::MIN, b":-32768\r\n");
    same(&u16::MAX, b":65535\r\n");
    same(&i32::MIN, b":-2147483648\r\n");
    same(&u32::MAX, b":4294967295\r\n");
    same(&i64::MIN, b":-9223372036854775808\r\n");
    same(&i64::MAX, b":9223372036854775807\r\n");
    same(&-5isize, b":-5\r\n");
    same(&5usize, b":5\r\n");
    same(&(i64::MAX as u64), b":9223372036854775807\r\n");
    same(&-7i128, b":-7\r\n");
    same(&7u128, b":7\r\n");
}

#[test]
fn integers_beyond_i64_are_big_numbers() {
    check(
        &u64::MAX,
        b"$20\r\n18446744073709551615\r\n",
        b"(18446744073709551615\r\n",
    );
    check(
        &(1u64 << 63),
        b"$19\r\n9223372036854775808\r\n",
        b"(9223372036854775808\r\n",
    );
    check(
        &i128::MIN,
        b"$40\r\n-170141183460469231731687303715884105728\r\n",
        b"(-170141183460469231731687303715884105728\r\n",
    );
    check(
        &u128::MAX,
        b"$39\r\n340282366920938463463374607431768211455\r\n",
        b"(340282366920938463463374607431768211455\r\n",
    );
}

#[test]
fn floats_and_bools() {
    check(&1.5f64, b"$3\r\n1.5\r\n", b",1.5\r\n");
    check(&0.5f32, b"$3\r\n0.5\r\n", b",0.5\r\n");
    check(
        &0.1f32,
        b"$19\r\n0.10000000149011612\r\n",
        b",0.10000000149011612\r\n",
    );
    check(&f64::NEG_INFINITY, b"$4\r\n-inf\r\n", b",-inf\r\n");
    check(&true, b":1\r\n", b"#t\r\n");
    check(&false, b":0\r\n", b"#f\r\n");
}

#[test]
fn strings_and_bytes_are_bulk() {
    same("héllo", "$6\r\nhéllo\r\n".as_bytes());
    same(&String::from("ab"), b"$2\r\nab\r\n");
    same(&'é', "$2\r\né\r\n".as_bytes());
    same(&b"ab"[..], b"$2\r\nab\r\n");
    same(b"ab", b"$2\r\nab\r\n");
    same(&vec![0u8, 255], b"$2\r\n\x00\xff\r\n");
    same(&Vec::<u8>::new(), b"$0\r\n\r\n");
    same(&Box::<[u8]>::from(&b"x"[..]), b"$1\r\nx\r\n");
    same(&Cow::<[u8]>::Borrowed(b"x"), b"$1\r\nx\r\n");
    same(&Cow::<str>::Owned("x".into()), b"$1\r\nx\r\n");
}

#[test]
fn sequences_are_arrays() {
    same(&vec![1i64, 2], b"*2\r\n:1\r\n:2\r\n");
    same(&[1i32, 2, 3], b"*3\r\n:1\r\n:2\r\n:3\r\n");
    same(&[0u16; 0], b"*0\r\n");
    same(&vec!["a", "b"][..], b"*2\r\n$1\r\na\r\n$1\r\nb\r\n");
    same(&VecDeque::from(vec![1u32]), b"*1\r\n:1\r\n");
    // Byte strings inside arrays stay bulk strings.
    same(
        &vec![b"ab".to_vec(), vec![]],
        b"*2\r\n$2\r\nab\r\n$0\r\n\r\n",
    );
    same(&[&b"x"[..]], b"*1\r\n$1\r\nx\r\n");
    // Nested.
    same(&vec![vec![1i64], vec![]], b"*2\r\n*1\r\n:1\r\n*0\r\n");
}

#[test]
fn tuples_are_arrays() {
    same(&(1i64,), b"*1\r\n:1\r\n");
    check(
        &(1i64, "a", 2.5f64),
        b"*3\r\n:1\r\n$1\r\na\r\n$3\r\n2.5\r\n",
        b"*3\r\n:1\r\n$1\r\na\r\n,2.5\r\n",
    );
    same(
        &(1i8, 2i16, 3i32, 4i64, 5u16, 6u32, 7u64, 8usize),
        b"*8\r\n:1\r\n:2\r\n:3\r\n:4\r\n:5\r\n:6\r\n:7\r\n:8\r\n",
    );
}

#[test]
fn maps_and_sets() {
    let mut btree = BTreeMap::new();
    btree.insert("a", 1i64);
    btree.insert("b", 2i64);
    check(
        &btree,
        b"*4\r\n$1\r\na\r\n:1\r\n$1\r\nb\r\n:2\r\n",
        b"%2\r\n$1\r\na\r\n:1\r\n$1\r\nb\r\n:2\r\n",
    );
    let hash: HashMap<String, Vec<i64>> = [("k".to_string(), vec![1])].into_iter().collect();
    check(
        &hash,
        b"*2\r\n$1\r\nk\r\n*1\r\n:1\r\n",
        b"%1\r\n$1\r\nk\r\n*1\r\n:1\r\n",
    );
    let set: BTreeSet<i64> = [3, 1].into_iter().collect();
    check(&set, b"*2\r\n:1\r\n:3\r\n", b"~2\r\n:1\r\n:3\r\n");
    let hset: HashSet<&str> = ["x"].into_iter().collect();
    check(&hset, b"*1\r\n$1\r\nx\r\n", b"~1\r\n$1\r\nx\r\n");
    check(&BTreeMap::<i64, i64>::new(), b"*0\r\n", b"%0\r\n");
}

#[test]
fn nulls() {
    check(&None::<i64>, b"$-1\r\n", b"_\r\n");
    check(&None::<Vec<i64>>, b"$-1\r\n", b"_\r\n");
    same(&Some(5i64), b":5\r\n");
    check(&(), b"$-1\r\n", b"_\r\n");
    check(&NullArray, b"*-1\r\n", b"_\r\n");
    check(
        &vec![Some("a"), None],
        b"*2\r\n$1\r\na\r\n$-1\r\n",
        b"*2\r\n$1\r\na\r\n_\r\n",
    );
}

#[test]
fn results() {
    same(&Ok::<i64, String>(1), b":1\r\n");
    same(&Err::<i64, _>("boom"), b"-ERR boom\r\n");
    same(&Err::<i64, _>("WRONGTYPE bad"), b"-WRONGTYPE bad\r\n");
    same(&Err::<i64, _>("-NOSCRIPT x"), b"-NOSCRIPT x\r\n");
    same(&Err::<i64, _>("ERR"), b"-ERR\r\n");
    // One capital letter is not a code; nor is a capitalised word.
    same(&Err::<i64, _>("I failed"), b"-ERR I failed\r\n");
    same(&Err::<i64, _>("Failed"), b"-ERR Failed\r\n");
    same(&Err::<i64, _>(""), b"-ERR \r\n");
    same(&Err::<i64, _>("multi\nline"), b"-ERR multi line\r\n");
    let io = std::io::Error::other("disk full");
    same(&Err::<(), _>(io), b"-ERR disk full\r\n");
}

#[test]
fn wrappers() {
    same(&Status("OK"), b"+OK\r\n");
    same(&Status(String::from("a\r\nb")), b"+a  b\r\n");
    same(
        &ErrorReply("NOAUTH Authentication required."),
        b"-NOAUTH Authentication required.\r\n",
    );
    same(&Bulk(vec![1u8, 2]), b"$2\r\n\x01\x02\r\n");
    same(&vec![Status("a"), Status("b")], b"*2\r\n+a\r\n+b\r\n");
}

#[test]
fn pointers_and_trait_objects() {
    let v = 5i64;
    same(&&v, b":5\r\n");
    same(&&mut 5i64, b":5\r\n");
    same(&Box::new(5i64), b":5\r\n");
    same(&Rc::new("x"), b"$1\r\nx\r\n");
    same(&Arc::new(vec![1i64]), b"*1\r\n:1\r\n");
    let mixed: Vec<Box<dyn ToResp>> = vec![Box::new(1i64), Box::new("a"), Box::new(Status("OK"))];
    same(&mixed, b"*3\r\n:1\r\n$1\r\na\r\n+OK\r\n");
}

#[test]
fn attributes_written_by_hand_vanish_in_resp2() {
    struct WithTtl(&'static str, i64);
    impl ToResp for WithTtl {
        fn write_resp(&self, w: &mut Writer) {
            w.write_attribute(1);
            w.write_any(&Status("ttl"));
            w.write_any(&vec![self.1]);
            w.write_any(self.0);
        }
    }
    check(
        &vec![WithTtl("v", 3)],
        b"*1\r\n$1\r\nv\r\n",
        b"*1\r\n|1\r\n+ttl\r\n*1\r\n:3\r\n$1\r\nv\r\n",
    );
}
