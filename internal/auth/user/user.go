package user

// Info is an authenticated identity.
type Info struct {
	Name   string
	UID    string
	Groups []string
	Extra  map[string][]string
}
