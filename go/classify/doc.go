// Package classify is what every sigop classifier answers, whoever computes
// it: the types of a classification (Result, Class, Unknown), of a stream
// (StreamConfig, StreamWindow, StreamEvent), the per-call options, and the
// Classifier interface.
//
// Two implementations satisfy Classifier:
//
//   - operator.Client asks a sigop server over gRPC;
//   - edge.Model runs an exported model folder inside the Go program, with no
//     server, no Python and no cgo (package edge).
//
// A program switches between them by changing one constructor. This package
// imports neither gRPC nor protobuf, so a device program that uses only the
// edge runtime carries neither.
package classify
