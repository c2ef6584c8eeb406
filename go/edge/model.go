package edge

import (
	"context"
	"fmt"
	"sync"

	"github.com/sigop-dev/sigop/go/classify"
)

// Model is an exported MiniRocket classifier, opened by Open. It is safe for
// concurrent use; its calls run their signals on its workers.
type Model struct {
	name         string
	version      int64
	labels       []string
	channels     int
	channelNames []string
	rate         float64 // Hz of one window's samples
	samples      int     // of one window
	declaresRate bool
	folder       string
	transform    *miniRocket
	head         *head
	unknown      *unknownScore // nil: exported without one
	workers      int
	topK         int
	features     sync.Pool // *[]float32 of 2 x features
}

var _ classify.Classifier = (*Model)(nil)

// Info is what one model takes and gives, as the server's ListModels says.
type Info struct {
	Name         string
	Version      int64
	Folder       string
	Labels       []string
	Channels     int
	ChannelNames []string
	SampleRate   float64 // 0: trained without a declared rate
	Samples      int     // of one input
	// UnknownMethod and UnknownThreshold describe the unknown score; empty
	// for a model exported without one.
	UnknownMethod    string
	UnknownThreshold float64
}

// Info describes the model.
func (m *Model) Info() Info {
	i := Info{Name: m.name, Version: m.version, Folder: m.folder, Labels: m.labels, Channels: m.channels,
		ChannelNames: m.channelNames, Samples: m.samples}
	if m.declaresRate {
		i.SampleRate = m.rate
	}
	if m.unknown != nil {
		i.UnknownMethod, i.UnknownThreshold = m.unknown.method, m.unknown.threshold
	}
	return i
}

// ClassifySignals classifies one-channel signals of the same length, taken
// at the model's rate (SampleRate: it or 0), padded with zeros or cut at the
// end to its length, as the server takes them.
func (m *Model) ClassifySignals(ctx context.Context, signals [][]float64, opts ...classify.CallOption) (*classify.Result, error) {
	o, err := m.resolve(opts)
	if err != nil {
		return nil, fmt.Errorf("edge: ClassifySignal: %w", err)
	}
	x, err := m.oneChannel(signals, o.SampleRate)
	if err != nil {
		return nil, fmt.Errorf("edge: ClassifySignal: %w", err)
	}
	return m.classify(ctx, x, o)
}

// ClassifyMultichannel classifies signals of the model's channels:
// signals[i][c] is channel c of signal i, every channel of every signal the
// same length. Another channel count is refused, naming both.
func (m *Model) ClassifyMultichannel(ctx context.Context, signals [][][]float64, opts ...classify.CallOption) (*classify.Result, error) {
	o, err := m.resolve(opts)
	if err != nil {
		return nil, fmt.Errorf("edge: ClassifySignal: %w", err)
	}
	x, err := m.multichannel(signals, o.SampleRate)
	if err != nil {
		return nil, fmt.Errorf("edge: ClassifySignal: %w", err)
	}
	return m.classify(ctx, x, o)
}

// resolve applies a call's options; a call may name this model and this
// version, or neither.
func (m *Model) resolve(opts []classify.CallOption) (classify.Call, error) {
	o, err := classify.Resolve(classify.Call{TopK: m.topK}, opts)
	if err != nil {
		return o, fmt.Errorf("%w: %w", classify.ErrInvalidInput, err)
	}
	if o.Model != "" && o.Model != m.name {
		return o, fmt.Errorf("%w: model %q: this runtime holds %q", classify.ErrNotFound, o.Model, m.name)
	}
	if o.Version != 0 && o.Version != m.version {
		return o, fmt.Errorf("%w: model %q version %d: this runtime holds version %d", classify.ErrNotFound, m.name, o.Version, m.version)
	}
	return o, nil
}

// answer is one input's scores.
type answer struct {
	probabilities []float32
	unknown       *classify.Unknown
}

// classify runs prepared inputs [signals][channels][samples] on the workers.
func (m *Model) classify(ctx context.Context, x [][][]float32, o classify.Call) (*classify.Result, error) {
	answers := make([]answer, len(x))
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(m.workers, len(x)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				answers[i] = m.one(x[i])
			}
		}()
	}
	var err error
feed:
	for i := range x {
		select {
		case next <- i:
		case <-ctx.Done():
			err = ctx.Err()
			break feed
		}
	}
	close(next)
	wg.Wait()
	if err != nil {
		return nil, fmt.Errorf("edge: ClassifySignal: %w", err)
	}
	r := &classify.Result{Model: m.name, Version: m.version, Classes: make([][]classify.Class, len(x))}
	for i, a := range answers {
		r.Classes[i] = rank(m.labels, a.probabilities, o.TopK)
		if a.unknown != nil {
			if r.Unknown == nil {
				r.Unknown = make([]classify.Unknown, len(x))
			}
			r.Unknown[i] = *a.unknown
		}
	}
	return r, nil
}

// one classifies one prepared input.
func (m *Model) one(x [][]float32) answer {
	buf, _ := m.features.Get().(*[]float32) // features, then the head's standardised copy: 2 x 40 KB a window, reused
	if buf == nil {
		b := make([]float32, 2*len(m.transform.biases))
		buf = &b
	}
	defer m.features.Put(buf)
	n := len(m.transform.biases)
	f := (*buf)[:n]
	m.transform.features(x, f)
	logits := make([]float64, m.head.classes())
	m.head.logits(f, (*buf)[n:], logits)
	a := answer{probabilities: make([]float32, len(logits))}
	softmax(logits, a.probabilities)
	if m.unknown != nil {
		s, over := m.unknown.score(logits)
		a.unknown = &classify.Unknown{Score: s, Unknown: over}
	}
	return a
}
