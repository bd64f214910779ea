// Package option holds the per-call options of the Switchyard Go SDK, passed as the last
// arguments of a call as openai-go's option.RequestOption values are.
package option

import "time"

// RequestConfig is what a call's options set; nil and zero values leave the engine's
// defaults. Read by the switchyard package.
type RequestConfig struct {
	Timeout    time.Duration
	MaxRetries *int
	User       string
	Session    string
	Tenant     string
	App        string
	Tags       []string
	Metadata   map[string]string
	Cache      string
	Deployment string
}

// RequestOption sets one call option.
type RequestOption func(*RequestConfig)

// WithTimeout bounds the whole call, retries and fallbacks included (the model's
// deadline_ms otherwise).
func WithTimeout(d time.Duration) RequestOption {
	return func(c *RequestConfig) { c.Timeout = d }
}

// WithMaxRetries caps the retries on each model the call reaches (never a raise); 0 tries
// each model once.
func WithMaxRetries(n int) RequestOption {
	return func(c *RequestConfig) { c.MaxRetries = &n }
}

// WithUser names who the call is for: budgets, limits, usage, sticky rollouts.
func WithUser(user string) RequestOption {
	return func(c *RequestConfig) { c.User = user }
}

// WithSession is the stickiness key of a rollout that is sticky by session.
func WithSession(session string) RequestOption {
	return func(c *RequestConfig) { c.Session = session }
}

// WithTenant charges the call to this tenant instead of the client's identity.
func WithTenant(tenant string) RequestOption {
	return func(c *RequestConfig) { c.Tenant = tenant }
}

// WithApp charges the call to this app instead of the client's identity.
func WithApp(app string) RequestOption {
	return func(c *RequestConfig) { c.App = app }
}

// WithTags are the call's tags, for budgets by tag and usage reports.
func WithTags(tags ...string) RequestOption {
	return func(c *RequestConfig) { c.Tags = tags }
}

// WithMetadata labels the usage event (never sent upstream).
func WithMetadata(metadata map[string]string) RequestOption {
	return func(c *RequestConfig) { c.Metadata = metadata }
}

// WithCache is the caller's say over the cache: "default", "bypass", "refresh", "enable".
func WithCache(mode string) RequestOption {
	return func(c *RequestConfig) { c.Cache = mode }
}

// WithDeployment sends the call to this deployment of the model only.
func WithDeployment(deployment string) RequestOption {
	return func(c *RequestConfig) { c.Deployment = deployment }
}
