package apis

import "fmt"

func errorf(format string, args ...interface{}) error { return fmt.Errorf("apis: "+format, args...) }
