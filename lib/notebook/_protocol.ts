/**
 * The Jupyter messaging protocol (version 5.3) on the wire: framing, signing and parsing.
 *
 * @module
 */
import { createHmac } from "node:crypto";

/** The delimiter between ZeroMQ routing identities and the message proper. */
const DELIMITER = "<IDS|MSG>";

/** A message header as the Jupyter protocol defines it. */
export interface MessageHeader {
  /** Unique id of this message; replies and outputs carry it as their parent's. */
  msg_id: string;
  /** The sender's session id. */
  session: string;
  /** The sender's user name. */
  username: string;
  /** ISO 8601 time of sending. */
  date: string;
  /** The message type, e.g. `execute_request`, `stream`, `status`. */
  msg_type: string;
  /** The protocol version, e.g. "5.3". */
  version: string;
}

/** One Jupyter message, decoded. */
export interface Message<C = Record<string, unknown>> {
  /** Who sent it, when, and its type (`msg_type`). */
  header: MessageHeader;
  /** The header of the request this message answers (empty for none). */
  parent_header: Partial<MessageHeader>;
  /** Message metadata. */
  metadata: Record<string, unknown>;
  /** The message body; its shape depends on `msg_type`. */
  content: C;
  /** Binary buffers after the content frame. */
  buffers: Uint8Array[];
}

/** The contents of a connection file (`deno jupyter --kernel --conn FILE`). */
export interface ConnectionInfo {
  ip: string;
  transport: "tcp";
  shell_port: number;
  iopub_port: number;
  stdin_port: number;
  control_port: number;
  hb_port: number;
  key: string;
  signature_scheme: "hmac-sha256";
  kernel_name: string;
}

/** Builds a new message header for this client session. */
export function newHeader(session: string, msgType: string): MessageHeader {
  return {
    msg_id: crypto.randomUUID(),
    session,
    username: "actlab",
    date: new Date().toISOString(),
    msg_type: msgType,
    version: "5.3",
  };
}

function sign(key: string, parts: readonly string[]): string {
  const hmac = createHmac("sha256", key);
  for (const part of parts) hmac.update(part);
  return hmac.digest("hex");
}

/** Encodes a message into ZeroMQ frames, signed with `key`. */
export function encodeMessage(
  key: string,
  message: Omit<Message<unknown>, "buffers">,
): string[] {
  const parts = [
    JSON.stringify(message.header),
    JSON.stringify(message.parent_header),
    JSON.stringify(message.metadata),
    JSON.stringify(message.content),
  ];
  return [DELIMITER, sign(key, parts), ...parts];
}

const decoder = new TextDecoder();

/**
 * Decodes ZeroMQ frames into a message and checks its signature.
 *
 * Throws when the delimiter is missing or the signature does not match the connection key.
 */
export function decodeMessage(key: string, frames: readonly Uint8Array[]): Message {
  const texts = frames.map((f) => decoder.decode(f));
  const at = texts.indexOf(DELIMITER);
  if (at < 0 || texts.length < at + 6) {
    throw new Error(`malformed Jupyter message: no "${DELIMITER}" delimiter or too few frames`);
  }
  const [signature, header, parent, metadata, content] = texts.slice(at + 1, at + 6);
  const expected = sign(key, [header, parent, metadata, content]);
  if (signature !== expected) {
    throw new Error("Jupyter message signature mismatch: the kernel uses another key");
  }
  return {
    header: JSON.parse(header),
    parent_header: JSON.parse(parent),
    metadata: JSON.parse(metadata),
    content: JSON.parse(content),
    buffers: frames.slice(at + 6).map((f) => new Uint8Array(f)),
  };
}
